import type { Clock } from '../common/clock.ts';
import type { Endpoint } from '../common/events.ts';
import { queryIdentd } from '../identd/client.ts';
import type { Net } from '../net/net.ts';

/**
 * The server's identd query (g.2–g.4): from the server's local address of the client connection
 * to the client's address at the identd port, bounded by the identd timer. Every failure is
 * "unavailable". Injectable so the lab can substitute its own.
 */

export type IdentdQueryResult =
  | { readonly kind: 'user'; readonly user: string; readonly answer: string }
  | { readonly kind: 'unavailable'; readonly reason: string; readonly answer: string | null };

export interface IdentdQuery {
  /** The SOCKS client connection: its local end (we query from there) and its peer. */
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly identdPort: number;
  readonly timeoutMs: number;
}

export type IdentdClient = (q: IdentdQuery) => Promise<IdentdQueryResult>;

export function netIdentdClient(net: Net, clock: Clock): IdentdClient {
  return async (q) => {
    const r = await queryIdentd({
      net,
      localAddress: q.local.address,
      remote: { address: q.remote.address, port: q.identdPort },
      clientPort: q.remote.port,
      serverPort: q.local.port,
      timeoutMs: q.timeoutMs,
      clock,
    });
    if (r.kind === 'user') return r;
    return {
      kind: 'unavailable',
      reason: r.detail !== undefined ? `${r.reason}: ${r.detail}` : r.reason,
      answer: r.answer,
    };
  };
}
