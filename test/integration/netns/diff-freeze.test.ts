import type { TestFn } from 'ava';
import { diffDesigns } from '../../../src/analysis/diff.ts';
import { freezeClasses, renderFrozen } from '../../../src/analysis/freeze.ts';
import { confirmDiff } from '../../../src/analysis/replay.ts';
import { LabWorld } from '../../../src/analysis/world.ts';
import { type NetnsLab, netnsRuntime } from '../../../src/runtime/netns/index.ts';
import type { Runtime } from '../../../src/runtime/runtime.ts';
import { parseScenarioText } from '../../../src/scenario/load.ts';
import { resolveScenario } from '../../../src/scenario/resolve.ts';
import { runCases } from '../../../src/scenario/runner.ts';
import { ScenarioTimeouts } from '../../../src/scenario/timeouts.ts';
import { loadTopologyWithConfigs } from '../../../src/topology/load.ts';
import { namespacesWith, netnsTest, processesOfRun, root } from './support.ts';

/**
 * diff --confirm and the frozen file on real kernel namespaces: every change of a planted config
 * change is confirmed live on both designs, the whole frozen file of the seed cascade passes —
 * rows whose destination is no host included — and every lab leaves no namespace or process.
 */
const test = (await netnsTest()) as TestFn;

const design = async (file: string) => ({
  ...(await loadTopologyWithConfigs(`${root}/${file}`)),
  label: file,
});

/** The netns runtime, remembering every lab it brought up so the test can check they are gone. */
function recording(labs: NetnsLab[]): Runtime {
  return {
    name: netnsRuntime.name,
    probe: () => netnsRuntime.probe(),
    up: async (topology, options) => {
      const lab = (await netnsRuntime.up(topology, options)) as NetnsLab;
      labs.push(lab);
      return lab;
    },
  };
}

async function nothingLeft(t: import('ava').ExecutionContext, labs: readonly NetnsLab[]) {
  for (const lab of labs) {
    t.deepEqual(await processesOfRun(lab.runId), [], `processes of ${lab.runId}`);
    t.deepEqual(await namespacesWith(lab.plan.prefix), [], `namespaces of ${lab.runId}`);
  }
}

test.serial(
  'diff --confirm on netns confirms every change of a planted ?= flag and leaves nothing',
  async (t) => {
    t.timeout(900_000);
    const labs: NetnsLab[] = [];
    const before = await design('topologies/seed-cascade.yaml');
    const after = await design('test/fixtures/diff/identd-flag.yaml');
    const diff = await confirmDiff(await diffDesigns(before, after), before, after, recording(labs));
    t.is(diff.changes.length, 4);
    for (const c of diff.changes)
      t.true(c.confirmation?.confirmed, `${c.id}: ${JSON.stringify(c.confirmation)}`);
    t.is(labs.length, 2, 'one lab per design');
    await nothingLeft(t, labs);
  },
);

test.serial('the frozen file of the seed cascade passes on netns, rows to no host included', async (t) => {
  t.timeout(3_600_000);
  const { topology, configs } = await loadTopologyWithConfigs(`${root}/topologies/seed-cascade.yaml`);
  const text = renderFrozen(
    await freezeClasses(new LabWorld(topology, configs), 'topologies/seed-cascade.yaml'),
  );
  const scenario = resolveScenario(
    parseScenarioText(text, `${root}/scenarios/seed-cascade.frozen.yaml`),
    topology,
  );
  t.is(scenario.cases.length, 472);
  const labs: NetnsLab[] = [];
  const lab = await recording(labs).up(topology, { timeouts: ScenarioTimeouts });
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
  await nothingLeft(t, labs);
});
