import test from 'ava';
import { checkTopology } from '../../../src/analysis/check.ts';
import { createPredictor } from '../../../src/analysis/predictor.ts';
import { ruleCoverage } from '../../../src/analysis/rule-coverage.ts';
import { localRuntime } from '../../../src/runtime/local/local-runtime.ts';
import { loadScenarioFile } from '../../../src/scenario/load.ts';
import { resolveScenario } from '../../../src/scenario/resolve.ts';
import { runCases } from '../../../src/scenario/runner.ts';
import { ScenarioTimeouts } from '../../../src/scenario/timeouts.ts';
import { traceLines } from '../../../src/scenario/trace-text.ts';
import { loadTopologyWithConfigs } from '../../../src/topology/load.ts';
import { projectRoot } from '../../helpers/seed-topology.ts';

/**
 * Every reference topology with its scenario suite on the local runtime: every case passes and
 * every observation agrees with the static prediction (same policy code on both sides), and the
 * rule coverage of the run's traces equals the coverage `sockslab check` predicts, line by line.
 */
const suites = ['seed-cascade', 'campus', 'failover', 'multihomed-bind', 'dmz-failover'] as const;

for (const name of suites) {
  test(`the ${name} suite passes on the local runtime and agrees with the prediction, rule coverage included`, async (t) => {
    const { topology, configs } = await loadTopologyWithConfigs(`${projectRoot}topologies/${name}.yaml`);
    const scenario = resolveScenario(
      await loadScenarioFile(`${projectRoot}scenarios/${name}.yaml`, `scenarios/${name}.yaml`),
      topology,
    );
    // The timers of `sockslab run`, which the predictor assumes and the suites' timing cases are
    // written for ("a connect takes 0.4 s, the timer is 1.5 s"): shorter ones left a loaded
    // machine a few hundred ms between a slow-but-within case and its timer.
    const lab = await localRuntime.up(topology, { timeouts: ScenarioTimeouts });
    try {
      const results = await runCases({
        lab,
        cases: scenario.cases,
        predictor: createPredictor(topology, configs),
      });
      t.true(results.length >= 5, `${name} has a real suite`);
      for (const r of results) {
        const detail = [
          ...r.failures.map((f) => `${f.what}: expected ${f.expected}, actual ${f.actual}`),
          ...(r.prediction?.differences ?? []),
          ...traceLines(r.trace),
        ].join('\n');
        t.is(r.verdict, 'pass', `${r.case.name}\n${detail}`);
        t.true(r.prediction?.agreed, `${r.case.name}: prediction\n${detail}`);
      }
      const observed = ruleCoverage(topology, configs, results, 'observed');
      const predicted = (await checkTopology(topology, configs, scenario.cases)).coverage;
      t.deepEqual({ ...observed, basis: 'predicted' }, predicted);
      t.true(observed.totals.reached > 0);
    } finally {
      await lab.down();
    }
  });
}
