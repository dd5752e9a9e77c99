import type { LabEvent } from '../../src/common/events.ts';
import type { Lab, ProbeOutcome } from '../../src/runtime/runtime.ts';
import { settleProbe } from '../../src/runtime/settle.ts';

/**
 * The events after `mark` once the probe's chain is complete (every session closed, every onward
 * connection seen by its hop or echo service), as `sockslab run` waits for them: a fixed pause
 * was too short on a loaded CI machine. Any runtime: the agent labs settle inside probe() for at
 * most a second or three, which a loaded machine can outlast. Gives up after 5 s and returns what
 * has arrived (src/runtime/settle.ts, the wait `sockslab run` uses).
 */
export function settled(
  lab: Lab,
  mark: number,
  outcome: Pick<ProbeOutcome, 'local' | 'clientRoute'>,
): Promise<readonly LabEvent[]> {
  // overlapping: a probe without a local endpoint has no chain of its own to wait for.
  return settleProbe(() => since(lab, mark), lab.topology, outcome, {
    maxMs: 5_000,
    quietMs: 0,
    overlapping: true,
  });
}

/** Events emitted after `mark` (an index into lab.events()). */
export function since(lab: Lab, mark: number): readonly LabEvent[] {
  return lab.events().slice(mark);
}
