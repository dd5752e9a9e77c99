import type { LabEvent } from './events.ts';

/**
 * What one SOCKS server counted over its life (its metrics, src/server/metrics.ts, summed over
 * labels): the per-host totals a lab run puts in its reports.
 */
export interface ServerTotals {
  /** Requests received (CONNECT and BIND, every protocol). */
  readonly sessions: number;
  /** Replies sent, by reply code (SOCKS 4 and 5 codes do not overlap but for 0–8 vs 90–93). */
  readonly replies: Readonly<Record<string, number>>;
  readonly permitted: number;
  readonly denied: number;
  /** identd queries by verdict (confirmed, mismatch, unavailable). */
  readonly identd: Readonly<Record<string, number>>;
  readonly upstreamAttempts: number;
  readonly upstreamFailovers: number;
  readonly bytesFromClient: number;
  readonly bytesFromRemote: number;
}

/**
 * The fold from one server's events to its totals. The local runtime counts with it in process;
 * the netns and docker labs replay their hosts' event streams through it (serverTotalsFromEvents),
 * so every runtime reports the same numbers by one definition. rsockd's `--metrics`
 * (server/metrics.ts) counts the same events with labels and is not burdened with this fold; a
 * test holds these totals equal to the sums of its exposition. Pure: events in, numbers out.
 */
export class ServerTotalsFold {
  private sessions = 0;
  private readonly replies: Record<string, number> = {};
  private permitted = 0;
  private denied = 0;
  private readonly identd: Record<string, number> = {};
  private upstreamAttempts = 0;
  private upstreamFailovers = 0;
  private bytesFromClient = 0;
  private bytesFromRemote = 0;
  /** Open sessions (between request and close) by id: whether the last upstream attempt failed. */
  private readonly lastAttemptFailed = new Map<string, boolean>();

  add(event: LabEvent): void {
    switch (event.type) {
      case 'request':
        this.sessions++;
        if (event.session !== undefined) this.lastAttemptFailed.set(event.session, false);
        return;
      case 'reply':
        this.replies[event.code] = (this.replies[event.code] ?? 0) + 1;
        return;
      case 'decision':
        if (event.action === 'permit') this.permitted++;
        else this.denied++;
        return;
      case 'identd':
        this.identd[event.verdict] = (this.identd[event.verdict] ?? 0) + 1;
        return;
      case 'upstream-attempt': {
        this.upstreamAttempts++;
        const session = event.session;
        const failedBefore = session === undefined ? undefined : this.lastAttemptFailed.get(session);
        if (failedBefore === undefined) return;
        // A next attempt after a failed one in the same session is a failover from that server.
        if (failedBefore) this.upstreamFailovers++;
        this.lastAttemptFailed.set(session!, !event.ok);
        return;
      }
      case 'close':
        this.bytesFromClient += event.bytesFromClient;
        this.bytesFromRemote += event.bytesFromRemote;
        if (event.session !== undefined) this.lastAttemptFailed.delete(event.session);
        return;
      default:
        return;
    }
  }

  totals(): ServerTotals {
    return {
      sessions: this.sessions,
      replies: { ...this.replies },
      permitted: this.permitted,
      denied: this.denied,
      identd: { ...this.identd },
      upstreamAttempts: this.upstreamAttempts,
      upstreamFailovers: this.upstreamFailovers,
      bytesFromClient: this.bytesFromClient,
      bytesFromRemote: this.bytesFromRemote,
    };
  }
}

/**
 * Per server host, its totals from a lab's event stream (every event of every host, tagged with
 * `host`, as the netns and docker hosts send them): one fold per host that runs a server.
 * A promise because the Lab interface's serverTotals() is one (the local runtime's are async).
 */
export async function serverTotalsFromEvents(
  events: readonly LabEvent[],
  hosts: readonly { readonly name: string; readonly server?: unknown }[],
): Promise<Readonly<Record<string, ServerTotals>>> {
  const folds = new Map<string, ServerTotalsFold>();
  for (const h of hosts) if (h.server) folds.set(h.name, new ServerTotalsFold());
  for (const e of events) if (e.host !== undefined) folds.get(e.host)?.add(e);
  const out: Record<string, ServerTotals> = {};
  for (const [host, fold] of folds) out[host] = fold.totals();
  return out;
}
