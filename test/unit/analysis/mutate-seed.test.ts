import { readFile } from 'node:fs/promises';
import test from 'ava';
import { parse } from 'yaml';
import { checkTopology } from '../../../src/analysis/check.ts';
import { generateMutants, mutantDesign } from '../../../src/analysis/mutants.ts';
import { judgeMutants, type MutationRun } from '../../../src/analysis/mutate.ts';
import { classWitnessSource } from '../../../src/analysis/mutate-witnesses.ts';
import { suggestedYaml } from '../../../src/report/mutate-text.ts';
import { allCases, selectScenarios } from '../../../src/scenario/discover.ts';
import { parseScenarioText } from '../../../src/scenario/load.ts';
import { resolveScenario } from '../../../src/scenario/resolve.ts';
import { loadTopologyWithConfigs } from '../../../src/topology/load.ts';
import { projectRoot } from '../../helpers/seed-topology.ts';

/**
 * The seed suite against the hand analysis written before the tool
 * (test/fixtures/mutate/seed-cascade.hand.yaml): what it must kill, by which case, and what it
 * cannot.
 */
interface Hand {
  readonly total: number;
  readonly killed: Record<string, string>;
  readonly survived: Record<string, string>;
  readonly equivalent: string[];
}

const setup = (async () => {
  const design = await loadTopologyWithConfigs(`${projectRoot}topologies/seed-cascade.yaml`);
  const cases = allCases(
    await selectScenarios(design.topology, {
      files: ['scenarios/seed-cascade.yaml'],
      directory: `${projectRoot}scenarios`,
      cwd: projectRoot,
    }),
  );
  const hand = parse(
    await readFile(`${projectRoot}test/fixtures/mutate/seed-cascade.hand.yaml`, 'utf8'),
  ) as Hand;
  const run = await judgeMutants(design, cases, generateMutants(design), { witnesses: classWitnessSource() });
  return { design, cases, hand, run };
})();

const ids = (run: MutationRun, status: string) =>
  run.verdicts
    .filter((v) => v.status === status)
    .map((v) => v.mutant.id)
    .sort();

test('the seed suite kills exactly the mutants the hand analysis says it must, each by the case it names', async (t) => {
  const { run, hand, cases } = await setup;
  t.is(run.score.total, hand.total);
  const byCase = Object.fromEntries(
    run.verdicts.flatMap((v) =>
      v.status === 'killed' ? [[v.mutant.id, `c${cases.findIndex((c) => c.name === v.by.case) + 1}`]] : [],
    ),
  );
  t.deepEqual(byCase, hand.killed);
  t.deepEqual(run.brokenCases, [], 'every seed case holds on the design');
});

test('what the seed suite misses splits into the survivors and the equivalents of the hand analysis', async (t) => {
  const { run, hand } = await setup;
  t.deepEqual(ids(run, 'survived'), Object.keys(hand.survived).sort());
  t.deepEqual(ids(run, 'equivalent'), [...hand.equivalent].sort());
  t.is(run.score.percent, (100 * 31) / (31 + 15));
});

test("every survivor's suggested case, pasted into a scenario file, holds on the design and fails on its mutant", async (t) => {
  const { run, design } = await setup;
  const survivors = run.verdicts.flatMap((v) => (v.status === 'survived' ? [v] : []));
  t.is(survivors.length, 15);
  for (const v of survivors) {
    t.truthy(v.suggested, v.mutant.id);
    if (!v.suggested) continue;
    const text = `topology: seed-cascade\ncases:\n${suggestedYaml(v.suggested)}\n`;
    const [c] = resolveScenario(parseScenarioText(text, 'suggested.yaml'), design.topology).cases;
    const onDesign = await checkTopology(design.topology, design.configs, [c!]);
    t.deepEqual(onDesign.cases[0]!.contradictions, [], `${v.mutant.id} on the design`);
    const mutated = mutantDesign(design, v.mutant);
    const onMutant = await checkTopology(mutated.topology, mutated.configs, [c!]);
    t.deepEqual(
      onMutant.cases[0]!.contradictions.map((f) => f.what),
      v.suggested.differences.map((f) => f.what),
      `${v.mutant.id} on the mutant`,
    );
    t.true(onMutant.cases[0]!.contradictions.length > 0, v.mutant.id);
  }
});

test('the suite plus the suggested cases, each where the output says, kills every survivor', async (t) => {
  const { run, design, cases } = await setup;
  const survivors = run.verdicts.flatMap((v) => (v.status === 'survived' && v.suggested ? [v] : []));
  // Case 8's cleanup writes B's original sockd.conf back: a case after it never meets a mutant of
  // that file, so those suggestions say to go before it.
  t.deepEqual(
    survivors
      .filter((v) => v.suggested!.before !== undefined)
      .map((v) => [v.mutant.host, v.mutant.file, v.suggested!.before]),
    [
      ['B', 'sockd.conf', cases[7]!.name],
      ['B', 'sockd.conf', cases[7]!.name],
      ['B', 'sockd.conf', cases[7]!.name],
    ],
  );
  const suite = [...cases];
  for (const v of survivors) {
    const at =
      v.suggested!.before === undefined
        ? suite.length
        : suite.findIndex((c) => c.name === v.suggested!.before);
    suite.splice(at, 0, v.suggested!.case);
  }
  const again = await judgeMutants(
    design,
    suite,
    survivors.map((v) => v.mutant),
  );
  t.deepEqual(
    again.verdicts.map((v) => v.status),
    survivors.map(() => 'killed'),
  );
  // Appended at the end instead, the three cases for B's sockd.conf catch nothing.
  const appended = await judgeMutants(
    design,
    [...cases, ...survivors.map((v) => v.suggested!.case)],
    survivors.map((v) => v.mutant),
  );
  t.is(appended.verdicts.filter((v) => v.status === 'survived').length, 3);
});

test('the witness for a dropped user list entry is the other user of the origin host', async (t) => {
  const { run } = await setup;
  const v = run.verdicts.find((x) => x.mutant.id === 'B sockd.conf:2 drop-user x');
  t.is(v?.status, 'survived');
  if (v?.status !== 'survived' || !v.suggested) return;
  t.like(v.suggested.witness.request, { from: 'C', user: 'root', target: { host: 'z', port: 7 } });
  t.like(v.suggested.case.expect, { reply: 91, path: ['C', 'B'] });
});
