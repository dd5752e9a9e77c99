import path from 'node:path';
import type { LabEvent } from '../../../src/common/events.ts';
import { localRuntime } from '../../../src/runtime/local/local-runtime.ts';
import { missingRequestEvents } from '../../../src/runtime/request-events.ts';
import type { Lab, ProbeOutcome, UpOptions } from '../../../src/runtime/runtime.ts';
import { loadTopology } from '../../../src/topology/load.ts';

/** Shared by the reference-topology tests: bring a topology of topologies/ up with short timers. */
export const topologiesDir = path.resolve(import.meta.dirname, '../../../topologies');

export async function upReference(name: string, options: UpOptions = {}): Promise<Lab> {
  const topology = await loadTopology(path.join(topologiesDir, `${name}.yaml`));
  return localRuntime.up(topology, {
    timeouts: { identd: 2000, upstreamConnect: 2000, establish: 4000, requestRead: 4000, identdRead: 1000 },
    ...options,
  });
}

export type Of<T extends LabEvent['type']> = Extract<LabEvent, { type: T }>;

/**
 * The events after `mark` once the probe's chain is complete (every session closed, every onward
 * connection seen by its hop or echo service), as `sockslab run` waits for them: a fixed pause
 * was too short on a loaded CI machine. Gives up after 5 s and returns what has arrived.
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
