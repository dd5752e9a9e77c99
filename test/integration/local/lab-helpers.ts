import path from 'node:path';
import type { LabEvent } from '../../../src/common/events.ts';
import { localRuntime } from '../../../src/runtime/local/local-runtime.ts';
import type { Lab, UpOptions } from '../../../src/runtime/runtime.ts';
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

/** Events of one type (optionally from one host), after the lab has had a moment to settle. */
export async function eventsOf<T extends LabEvent['type']>(
  lab: Lab,
  type: T,
  host?: string,
): Promise<Of<T>[]> {
  await new Promise((r) => setTimeout(r, 60));
  return lab.events().filter((e): e is Of<T> => e.type === type && (host === undefined || e.host === host));
}

/** Events emitted after `mark` (an index into lab.events()). */
export function since(lab: Lab, mark: number): readonly LabEvent[] {
  return lab.events().slice(mark);
}
