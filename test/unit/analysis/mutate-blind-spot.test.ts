import test from 'ava';
import { generateMutants } from '../../../src/analysis/mutants.ts';
import { judgeMutants } from '../../../src/analysis/mutate.ts';
import { classWitnessSource } from '../../../src/analysis/mutate-witnesses.ts';
import { allCases, selectScenarios } from '../../../src/scenario/discover.ts';
import { loadTopologyWithConfigs } from '../../../src/topology/load.ts';
import { projectRoot } from '../../helpers/seed-topology.ts';

/**
 * A planted blind spot (test/fixtures/mutate/blind-spot.*): S's line 4 lets bob use z's web
 * port and no case sends bob there; every other line is pinned by a case.
 */
const fixtures = `${projectRoot}test/fixtures/mutate/`;
const setup = (async () => {
  const design = await loadTopologyWithConfigs(`${fixtures}blind-spot.topology.yaml`);
  const cases = allCases(
    await selectScenarios(design.topology, {
      files: [`${fixtures}blind-spot.scenario.yaml`],
      directory: fixtures,
      cwd: projectRoot,
    }),
  );
  const run = await judgeMutants(design, cases, generateMutants(design), { witnesses: classWitnessSource() });
  return { design, cases, run };
})();

test('every survivor is a mutant of the one line no case distinguishes', async (t) => {
  const { run } = await setup;
  t.deepEqual(
    run.verdicts.filter((v) => v.status === 'survived').map((v) => v.mutant.id),
    [
      'S sockd.conf:4 action deny',
      'S sockd.conf:4 drop-line',
      'S sockd.conf:4 port-op gt',
      'S sockd.conf:4 port-op ge',
    ],
  );
});

test("the planted line's suggested case is bob to z's web port, granted by line 4", async (t) => {
  const { run } = await setup;
  for (const id of ['S sockd.conf:4 action deny', 'S sockd.conf:4 drop-line']) {
    const v = run.verdicts.find((x) => x.mutant.id === id);
    if (v?.status !== 'survived' || !v.suggested) {
      t.fail(`${id} has no suggested case`);
      continue;
    }
    t.deepEqual(v.suggested.witness.request, {
      from: 'C',
      user: 'bob',
      protocol: 'socks4',
      command: 'connect',
      target: { host: 'z', port: 80 },
      useSocksConf: true,
    });
    t.like(v.suggested.case.expect, {
      reply: 90,
      path: ['C', 'S', 'z'],
      rules: [{ host: 'S', file: 'sockd.conf', line: 4, action: 'permit' }],
    });
    t.like(v.suggested.differences[0], { what: 'reply', expected: '90 (granted)', actual: '91 (rejected)' });
  }
});

test('two lines that never overlap, swapped, are equivalent rather than survivors', async (t) => {
  const { run } = await setup;
  // alice's echo line and bob's web line match disjoint requests: no class tells their order apart.
  const v = run.verdicts.find((x) => x.mutant.id === 'S sockd.conf:2 swap-next');
  t.is(v?.status, 'equivalent');
  // Lines 4 and 5 do overlap (deny ALL covers bob's line): that swap is caught by a pinned line.
  t.is(run.verdicts.find((x) => x.mutant.id === 'S sockd.conf:4 swap-next')?.status, 'killed');
});

test('a source mask is equivalent when no host of the topology lies in the strip it adds or removes', async (t) => {
  const { run } = await setup;
  t.deepEqual(
    run.verdicts.filter((v) => v.status === 'equivalent').map((v) => v.mutant.id),
    [
      'S sockd.conf:2 swap-next',
      'S sockd.conf:2 mask-widen src',
      'S sockd.conf:2 mask-narrow src',
      'S sockd.conf:4 mask-widen src',
      'S sockd.conf:4 mask-narrow src',
      'S sockd.conf:5 mask-narrow src',
    ],
  );
});

test('the score counts the killed among the mutants that are not equivalent', async (t) => {
  const { run } = await setup;
  t.deepEqual(run.score, { total: 30, killed: 20, survived: 4, equivalent: 6, percent: (100 * 20) / 24 });
});

test('without a witness source, survivors are reported without deciding equivalence', async (t) => {
  const { design, cases } = await setup;
  const run = await judgeMutants(design, cases, generateMutants(design));
  t.false(run.witnessed);
  t.is(run.score.survived, 10);
  t.is(run.score.equivalent, 0);
});
