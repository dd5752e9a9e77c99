import type { EventSink } from '../../../common/events.ts';
import type { Net } from '../../../net/net.ts';
import type { IdentdBehaviour, UserModel } from '../../../topology/model.ts';

/**
 * The host's fake identd: answers from the socket's real owner (the uid in this container's
 * /proc/net/tcp, mapped to the topology's user table), with the scripted misbehaviours.
 * The identd server itself is src/identd's; this adapter supplies the container's lookup.
 */
export interface IdentdHandle {
  close(): Promise<void>;
}

export interface HostIdentdOptions {
  readonly net: Net;
  readonly port: number;
  readonly behaviour: IdentdBehaviour;
  readonly users: readonly UserModel[];
  readonly host: string;
  readonly events: EventSink;
}

export async function startHostIdentd(_options: HostIdentdOptions): Promise<IdentdHandle | undefined> {
  // Wired to src/identd when it lands.
  return undefined;
}
