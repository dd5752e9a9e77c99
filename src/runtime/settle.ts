import type { LabEvent } from '../common/events.ts';
import { isServer, sessionKey } from '../common/server-sessions.ts';
import type { ResolvedTopology } from '../topology/model.ts';
import { missingRequestEvents, requestEvents } from './request-events.ts';
import type { Lab, ProbeOutcome, ProbeRequest } from './runtime.ts';

/**
 * After a probe, its events trail its outcome: the hops log their closes, the echo services and
 * identds their side, each when it gets to it. Whoever reads a probe's events (the agent labs'
 * probe, the scenario runner, `sockslab probe` and `sockslab up`'s POST /probe) waits here until
 * they are complete. A fixed pause instead is a guess at how late they come, and on a loaded
 * machine they come later than any such guess.
 */

/** How long to wait for a probe's events. */
export interface SettleTiming {
  /** Bounds the wait for events that never come (a hop killed by a fault step). */
  readonly maxMs: number;
  /** Once complete, the probe's own events must also have stopped coming for this long. */
  readonly quietMs: number;
}

/**
 * For a probe someone waits on by hand (`sockslab probe`, POST /probe of `sockslab up`): its
 * events until its chain is complete and quiet for 150 ms, at most 10 s.
 */
const SingleProbeSettle: SettleTiming = { quietMs: 150, maxMs: 10_000 };

/** Runs one probe, alone on `lab`, and gives its outcome with its events once they are all in. */
export async function probeAndSettle(
  lab: Pick<Lab, 'events' | 'topology' | 'probe'>,
  request: ProbeRequest,
): Promise<{ readonly outcome: ProbeOutcome; readonly events: readonly LabEvent[] }> {
  const mark = lab.events().length;
  const outcome = await lab.probe(request);
  const events = await settleProbe(() => lab.events().slice(mark), lab.topology, outcome, SingleProbeSettle);
  return { outcome, events };
}

/**
 * Waits until the request's own events among `window()` (the events since the probe began) are
 * complete — every server session of its chain closed, every connection it made onward seen by
 * the next hop or echo service (request-events.ts) — and have been quiet for `quietMs`, or
 * `maxMs` passed; gives the window as it then is. Only the probe's chain counts, so probes running
 * at the same time neither wait for each other nor lend each other sessions. A probe that never
 * connected has no chain: alone on the lab, every session that opened meanwhile is still waited
 * for (a hop may answer late); next to other probes (`overlapping`), there is nothing of its own
 * to wait for.
 */
export async function settleProbe(
  window: () => readonly LabEvent[],
  topology: ResolvedTopology,
  outcome: Pick<ProbeOutcome, 'local' | 'clientRoute'>,
  timing: SettleTiming & { readonly overlapping?: boolean },
): Promise<readonly LabEvent[]> {
  const deadline = Date.now() + timing.maxMs;
  let seen = -1;
  let changedAt = Date.now();
  // How long the probe's own events have not changed; counted only when asked for, since every
  // count walks the window's sessions again, each poll.
  const quietFor = (events: readonly LabEvent[]): number => {
    const own = requestEvents(events, outcome).length;
    if (own !== seen) {
      seen = own;
      changedAt = Date.now();
    }
    return Date.now() - changedAt;
  };
  for (;;) {
    const events = window();
    const quiet = timing.quietMs === 0 || quietFor(events) >= timing.quietMs;
    const complete = outcome.local
      ? missingRequestEvents(events, topology, outcome).length === 0
      : timing.overlapping === true || windowClosed(events);
    if ((complete && quiet) || Date.now() >= deadline) return events;
    await new Promise((r) => setTimeout(r, 5));
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
