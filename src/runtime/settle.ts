import type { LabEvent } from '../common/events.ts';
import { isServer, sessionKey } from '../common/server-sessions.ts';
import { missingRequestEvents } from './request-events.ts';
import type { Lab, ProbeOutcome } from './runtime.ts';

/**
 * After a probe, its events trail its outcome: the hops log their closes, the echo services and
 * identds their side, each when it gets to it. Whoever reads a probe's events (the scenario runner,
 * `sockslab up`'s POST /probe) waits here until they are complete, not for a fixed time, which a
 * loaded machine can overrun.
 *
 * Complete means the request's own events: every server session of its chain closed, every
 * connection it made onward seen by the next hop or echo service (request-events.ts). Only the
 * probe's chain counts, so probes running at the same time neither wait for each other nor lend
 * each other sessions. A probe that never connected has no chain: alone on the lab, every session
 * that opened meanwhile is still waited for (a hop may answer late); next to other probes
 * (`overlapping`), there is nothing of its own to wait for. `maxMs` bounds the wait for events that
 * never come (a hop killed by a fault step). Resolves with the lab's events since `from`.
 */
export async function settleProbe(
  lab: Pick<Lab, 'events' | 'topology'>,
  from: number,
  outcome: ProbeOutcome,
  options: { readonly maxMs: number; readonly overlapping?: boolean },
): Promise<readonly LabEvent[]> {
  const deadline = Date.now() + options.maxMs;
  for (;;) {
    const events = lab.events().slice(from);
    const complete = outcome.local
      ? missingRequestEvents(events, lab.topology, outcome).length === 0
      : options.overlapping === true || windowClosed(events);
    if (complete || Date.now() >= deadline) return events;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every server session of the window closed and every direct connection echoed. */
function windowClosed(events: readonly LabEvent[]): boolean {
  const open = new Set<string>();
  const echoed = new Set(
    events.flatMap((e) => (e.type === 'echo' ? [`${e.peer.address}:${e.peer.port}`] : [])),
  );
  for (const e of events) {
    if (e.type === 'outbound' && e.via === 'direct' && !echoed.has(`${e.local.address}:${e.local.port}`))
      return false;
    if (!isServer(e)) continue;
    if (e.type === 'request') open.add(sessionKey(e));
    else if (e.type === 'close') open.delete(sessionKey(e));
  }
  return open.size === 0;
}
