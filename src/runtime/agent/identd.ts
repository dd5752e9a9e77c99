import { readFile } from 'node:fs/promises';
import type { EventSink } from '../../common/events.ts';
import { type FakeIdentd, type IdentdLookupQuery, startFakeIdentd } from '../../identd/fake-identd.ts';
import { ownerOf, parseProcNetTcp } from '../../identd/proc-net-tcp.ts';
import type { Net } from '../../net/net.ts';
import type { IdentdBehaviour, UserModel } from '../../topology/model.ts';

/**
 * The host's fake identd (src/identd) with the container's own lookup: the socket's real owner is
 * the uid in this container's /proc/net/tcp{,6}, named through the topology's user table. A uid
 * the table does not name is answered as the number, as a real identd does without a passwd entry.
 */

export interface HostIdentdOptions {
  readonly net: Net;
  readonly port: number;
  readonly listenHost: string;
  readonly behaviour: IdentdBehaviour;
  readonly users: readonly UserModel[];
  readonly host: string;
  readonly events: EventSink;
  readonly readTimeoutMs?: number;
}

async function procNetTcp(): Promise<string> {
  const parts = await Promise.all(
    ['/proc/net/tcp', '/proc/net/tcp6'].map((f) => readFile(f, 'utf8').catch(() => '')),
  );
  return parts.join('\n');
}

export function containerLookup(users: readonly UserModel[], read: () => Promise<string> = procNetTcp) {
  return async (q: IdentdLookupQuery): Promise<string | null> => {
    const rows = parseProcNetTcp(await read());
    const uid = ownerOf(rows, q.localPort, { address: q.peer.address, port: q.remotePort }, q.local.address);
    if (uid === null) return null;
    return users.find((u) => u.uid === uid)?.name ?? String(uid);
  };
}

export function startHostIdentd(options: HostIdentdOptions): Promise<FakeIdentd> {
  return startFakeIdentd({
    net: options.net,
    host: options.listenHost,
    port: options.port,
    behaviour: options.behaviour,
    lookup: containerLookup(options.users),
    events: options.events,
    hostLabel: options.host,
    ...(options.readTimeoutMs !== undefined ? { readTimeoutMs: options.readTimeoutMs } : {}),
  });
}
