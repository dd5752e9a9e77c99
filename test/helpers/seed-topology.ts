import { fileURLToPath } from 'node:url';
import { loadTopology } from '../../src/topology/load.ts';
import type { ResolvedTopology } from '../../src/topology/model.ts';

export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
export const seedCascadeFile = fileURLToPath(new URL('../../topologies/seed-cascade.yaml', import.meta.url));

let cached: Promise<ResolvedTopology> | undefined;
/** The reference seed cascade (C → B → A → z), loaded once per test file. */
export function seedCascade(): Promise<ResolvedTopology> {
  cached ??= loadTopology(seedCascadeFile);
  return cached;
}
