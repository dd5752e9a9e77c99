import { readFile } from 'node:fs/promises';
import type { Lab } from '../../src/runtime/runtime.ts';
import { parseScenarioText } from '../../src/scenario/load.ts';
import { resolveScenario } from '../../src/scenario/resolve.ts';
import type { CaseResult } from '../../src/scenario/result.ts';
import { runCases } from '../../src/scenario/runner.ts';
import { parseTopologyText } from '../../src/topology/load.ts';
import type { ResolvedTopology } from '../../src/topology/model.ts';
import { projectRoot, seedCascadeFile } from './seed-topology.ts';

/**
 * The forged-claim case (issue 15.1) on every runtime: the seed cascade with a second user y on C,
 * and test/fixtures/claim/seed-cascade.forged.yaml, whose first case has y's program send the
 * USERID x. B's ?=I line asks identd on C, which names the socket's owner y: 93 and an alert
 * naming both. The second case is the control: x itself, granted.
 */
export async function seedWithY(edit: (text: string) => string = (t) => t): Promise<ResolvedTopology> {
  const text = edit(await readFile(seedCascadeFile, 'utf8')).replace(
    'users: { x: 1001 }',
    'users: { x: 1001, y: 1002 }',
  );
  if (!text.includes('y: 1002')) throw new Error('seed-cascade.yaml no longer gives C its users as expected');
  return (await parseTopologyText(text, seedCascadeFile)).topology;
}

export async function runForgedClaim(lab: Lab, topology: ResolvedTopology): Promise<CaseResult[]> {
  const file = `${projectRoot}test/fixtures/claim/seed-cascade.forged.yaml`;
  const scenario = resolveScenario(parseScenarioText(await readFile(file, 'utf8'), file), topology);
  return runCases({ lab, cases: scenario.cases });
}

/** Failures and the trace of a result, for assertion messages. */
export function explain(r: CaseResult): string {
  return [
    r.case.name,
    ...r.failures.map((f) => `${f.what}: expected ${f.expected}, actual ${f.actual}`),
  ].join('\n');
}
