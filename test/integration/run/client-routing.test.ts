import test from 'ava';
import { createPredictor } from '../../../src/analysis/predictor.ts';
import { localRuntime } from '../../../src/runtime/local/local-runtime.ts';
import { loadScenarioFile } from '../../../src/scenario/load.ts';
import { resolveScenario } from '../../../src/scenario/resolve.ts';
import { runCases } from '../../../src/scenario/runner.ts';
import { loadTopologyWithConfigs } from '../../../src/topology/load.ts';

/**
 * The origin's own socks.conf (deny / direct / sockd) end to end: no reference topology has a
 * client-side deny, so this fixture covers it — trace, expectations and prediction alike.
 */
const dir = new URL('./fixtures/', import.meta.url).pathname;

test('deny, direct and sockd lines of the origin socks.conf are traced, checked and predicted', async (t) => {
  const { topology, configs } = await loadTopologyWithConfigs(`${dir}client-routing.yaml`);
  const scenario = resolveScenario(
    await loadScenarioFile(`${dir}client-routing.scenario.yaml`, 'client-routing.scenario.yaml'),
    topology,
  );
  const lab = await localRuntime.up(topology, {
    timeouts: { identd: 800, establish: 3000, unreachable: 500 },
  });
  try {
    const results = await runCases({
      lab,
      cases: scenario.cases,
      predictor: createPredictor(topology, configs),
    });
    for (const r of results) {
      t.deepEqual(r.failures, [], r.case.name);
      t.deepEqual(r.prediction?.differences, [], r.case.name);
    }
    t.deepEqual(
      results.map((r) => r.trace.path),
      [['C'], ['C', 'w'], ['C', 'B', 'z']],
    );
  } finally {
    await lab.down();
  }
});
