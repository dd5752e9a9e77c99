import { readFile } from 'node:fs/promises';
import type { TestFn } from 'ava';
import { diffDesigns } from '../../../src/analysis/diff.ts';
import { freezeClasses, renderFrozen } from '../../../src/analysis/freeze.ts';
import { confirmDiff } from '../../../src/analysis/replay.ts';
import { LabWorld } from '../../../src/analysis/world.ts';
import { dockerRuntime } from '../../../src/runtime/docker/index.ts';
import { parseScenarioText } from '../../../src/scenario/load.ts';
import { resolveScenario } from '../../../src/scenario/resolve.ts';
import { runCases } from '../../../src/scenario/runner.ts';
import { ScenarioTimeouts } from '../../../src/scenario/timeouts.ts';
import { parseTopologyText } from '../../../src/topology/load.ts';
import { assertNothingLeft, dockerTest, relocatedSeed, root } from './support.ts';

/**
 * diff --confirm and the frozen file on Docker (real containers on internal networks): every
 * change of a planted config change is confirmed live on both designs, the whole frozen file of
 * the seed cascade passes — the rows whose destination is no host included — and nothing this
 * process created is left behind.
 */
const test = (await dockerTest()) as TestFn;
test.serial.after.always('no container or network of this test process is left', assertNothingLeft);

// The seed cascade on subnets of its own (10.212.x.0/24): the conformance test may have the seed
// cascade up at the same time, and Docker's address pools are global.
const Block = 212;
const load = async (file: string) =>
  parseTopologyText(relocatedSeed(await readFile(`${root}/${file}`, 'utf8'), Block), `${root}/${file}`);
const design = async (file: string) => ({ ...(await load(file)), label: file });

test.serial(
  'diff --confirm on docker confirms every change of a planted ?= flag, on both designs',
  async (t) => {
    t.timeout(900_000);
    const before = await design('topologies/seed-cascade.yaml');
    const after = await design('test/fixtures/diff/identd-flag.yaml');
    const diff = await confirmDiff(await diffDesigns(before, after), before, after, dockerRuntime);
    t.is(diff.changes.length, 4);
    for (const c of diff.changes)
      t.true(c.confirmation?.confirmed, `${c.id}: ${JSON.stringify(c.confirmation)}`);
    const z = diff.changes.find((c) => c.id === `C|socks4|x|addr:10.${Block}.100.10|80`)!;
    t.deepEqual(z.confirmation!.after.path, ['C', 'B', 'A', 'z']);
  },
);

test.serial('the frozen file of the seed cascade passes on docker, rows to no host included', async (t) => {
  t.timeout(3_600_000);
  const { topology, configs } = await load('topologies/seed-cascade.yaml');
  const text = renderFrozen(
    await freezeClasses(new LabWorld(topology, configs), 'topologies/seed-cascade.yaml'),
  );
  const scenario = resolveScenario(
    parseScenarioText(text, `${root}/scenarios/seed-cascade.frozen.yaml`),
    topology,
  );
  t.is(scenario.cases.length, 472);
  const lab = await dockerRuntime.up(topology, { timeouts: ScenarioTimeouts });
  try {
    const results = await runCases({ lab, cases: scenario.cases });
    const failed = results
      .filter((r) => r.verdict === 'fail')
      .map(
        (r) =>
          `${r.case.name}: ${r.failures.map((f) => `${f.what}: want ${JSON.stringify(f.expected)}, got ${JSON.stringify(f.actual)}`).join('; ')}`,
      );
    t.deepEqual(failed, []);
  } finally {
    await lab.down();
  }
});
