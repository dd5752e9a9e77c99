import type { LabEvent } from '../../src/common/events.ts';
import { missingRequestEvents } from '../../src/runtime/request-events.ts';
import type { Lab, ProbeOutcome } from '../../src/runtime/runtime.ts';

/**
 * The events after `mark` once the probe's chain is complete (every session closed, every onward
 * connection seen by its hop or echo service), as `sockslab run` waits for them: a fixed pause
 * was too short on a loaded CI machine. Any runtime: the agent labs settle inside probe() for at
 * most a second or three, which a loaded machine can outlast. Gives up after 5 s and returns what
 * has arrived.
 */
export async function settled(
  lab: Lab,
  mark: number,
  outcome: Pick<ProbeOutcome, 'local' | 'clientRoute'>,
): Promise<readonly LabEvent[]> {
  for (const deadline = Date.now() + 5_000; Date.now() < deadline; ) {
    if (missingRequestEvents(since(lab, mark), lab.topology, outcome).length === 0) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return since(lab, mark);
}

/** Events emitted after `mark` (an index into lab.events()). */
export function since(lab: Lab, mark: number): readonly LabEvent[] {
  return lab.events().slice(mark);
}
