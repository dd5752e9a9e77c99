import path from 'node:path';
import type { TestFn } from 'ava';
import { checkTopology } from '../../../src/analysis/check.ts';
import { ruleCoverage } from '../../../src/analysis/rule-coverage.ts';
import { netnsRuntime } from '../../../src/runtime/netns/index.ts';
import { loadScenarioFile } from '../../../src/scenario/load.ts';
import { resolveScenario } from '../../../src/scenario/resolve.ts';
import { runCases } from '../../../src/scenario/runner.ts';
import { loadTopologyWithConfigs } from '../../../src/topology/load.ts';
import { netnsTest, root, shortTimeouts } from './support.ts';

/**
 * Rule coverage from real processes: the multi-homed BIND suite on namespaces, where the
 * sockd.route choice reaches the trace through the server's JSON event log, covers the same
 * lines as `sockslab check` predicts.
 */
const test = (await netnsTest()) as TestFn;

test('on netns the multihomed-bind suite covers the same config lines as check predicts, sockd.route included', async (t) => {
  t.timeout(180_000);
  const { topology, configs } = await loadTopologyWithConfigs(
    path.join(root, 'topologies/multihomed-bind.yaml'),
  );
  const scenario = resolveScenario(
    await loadScenarioFile(
      path.join(root, 'scenarios/multihomed-bind.yaml'),
      'scenarios/multihomed-bind.yaml',
    ),
    topology,
  );
  const lab = await netnsRuntime.up(topology, { timeouts: shortTimeouts });
  let results: Awaited<ReturnType<typeof runCases>>;
  try {
    results = await runCases({ lab, cases: scenario.cases });
  } finally {
    await lab.down();
  }
  const observed = ruleCoverage(topology, configs, results, 'observed');
  const predicted = (await checkTopology(topology, configs, scenario.cases)).coverage;
  t.deepEqual({ ...observed, basis: 'predicted' }, predicted);
  const route = observed.hosts.find((h) => h.host === 'fw')!.files.find((f) => f.file === 'sockd.route')!;
  t.is(route.totals.decided, 3);
});
