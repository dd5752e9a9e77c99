import type { LabEvent } from '../common/events.ts';
import type { ServerTotals } from '../common/server-totals.ts';
import { ServerMetrics } from './metrics.ts';

/**
 * Per server host, the totals its `--metrics` counts, for a lab run's report: the lab's event
 * stream (every server event of every host, as the netns and docker hosts send them) replayed
 * into one ServerMetrics per host. That is the counting rsockd does for `--metrics` and the local
 * runtime does in process, so the three runtimes report the same numbers for the same cases.
 */
export async function serverTotalsFromEvents(
  events: readonly LabEvent[],
  hosts: readonly { readonly name: string; readonly server?: unknown }[],
): Promise<Readonly<Record<string, ServerTotals>>> {
  const metrics = new Map<string, ServerMetrics>();
  for (const h of hosts) if (h.server) metrics.set(h.name, new ServerMetrics());
  for (const e of events) {
    const m = e.host === undefined ? undefined : metrics.get(e.host);
    if (m?.types.has(e.type)) m.emit(e);
  }
  const out: Record<string, ServerTotals> = {};
  for (const [host, m] of metrics) out[host] = await m.totals();
  return out;
}
