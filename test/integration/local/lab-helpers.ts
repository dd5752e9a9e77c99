import path from 'node:path';
import type { LabEvent } from '../../../src/common/events.ts';
import { localRuntime } from '../../../src/runtime/local/local-runtime.ts';
import type { Lab, UpOptions } from '../../../src/runtime/runtime.ts';
import { loadTopology } from '../../../src/topology/load.ts';

export { settled, since } from '../../helpers/lab-events.ts';

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
