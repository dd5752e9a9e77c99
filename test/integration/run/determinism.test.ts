import test from 'ava';
import { renderJson } from '../../../src/report/json.ts';
import { buildRunReport } from '../../../src/report/model.ts';
import { normaliseReport } from '../../../src/report/normalise.ts';
import { localRuntime } from '../../../src/runtime/local/local-runtime.ts';
import { loadScenarioFile } from '../../../src/scenario/load.ts';
import { resolveScenario } from '../../../src/scenario/resolve.ts';
import { runCases } from '../../../src/scenario/runner.ts';
import { ScenarioTimeouts } from '../../../src/scenario/timeouts.ts';
import { projectRoot, seedCascade } from '../../helpers/seed-topology.ts';

/** Two complete runs of the seed cascade suite on the local runtime, each on a fresh lab. */
async function reportOnce(): Promise<string> {
  const topology = await seedCascade();
  const scenario = resolveScenario(
    await loadScenarioFile(`${projectRoot}scenarios/seed-cascade.yaml`, 'scenarios/seed-cascade.yaml'),
    topology,
  );
  const started = Date.now();
  // The timers of `sockslab run`: a 1 s identd timer could run out on a loaded machine in one of
  // the two runs and not the other, which is load, not a difference of the reports' making.
  const lab = await localRuntime.up(topology, { timeouts: ScenarioTimeouts });
  try {
    const results = await runCases({ lab, cases: scenario.cases });
    const report = buildRunReport(
      {
        id: lab.runId,
        runtime: 'local',
        startedAt: started,
        finishedAt: Date.now(),
        scenarios: [scenario.file],
        tags: [],
        topologyFile: 'topologies/seed-cascade.yaml',
      },
      topology,
      results,
    );
    return renderJson(normaliseReport(report));
  } finally {
    await lab.down();
  }
}

test('report.json for the same input is identical across two runs after normalising times and ports', async (t) => {
  const first = await reportOnce();
  const second = await reportOnce();
  t.is(first, second);
  t.notRegex(first, /"port": [1-9]\d{4}/, 'no ephemeral port survives normalisation');
  t.regex(first, /"verdict": "pass"/);
});
