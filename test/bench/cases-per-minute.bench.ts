/**
 * Issue 18: scenario cases per minute on each runtime, for the generated suite (test/helpers/
 * generated-suite.ts: request rows of the generated estate around three fault cases), one case at
 * a time (`--jobs 1`) and with `--jobs` (the machine's cores, and twice that). Only the cases are
 * timed — the lab is up before and goes down after; the static prediction of each case is compared
 * as `sockslab run` does. Goal: local ≥ 3,000/min, netns and docker ≥ 1,000/min on 2 cores.
 *
 *   node --import=tsx test/bench/cases-per-minute.bench.ts
 *   BENCH_CPM_CASES=200 BENCH_CPM_RUNTIMES=local,netns,docker BENCH_CPM_JOBS=1,2,4
 *
 * netns needs root; docker a Docker engine and a built dist/ (the image is built from it). A
 * runtime that is not available here is listed with the reason, not measured.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createPredictor } from '../../src/analysis/predictor.ts';
import { runtimeRegistry } from '../../src/cli/runtimes.ts';
import { allCases, scenarioPlace, selectScenarios } from '../../src/scenario/discover.ts';
import { runScheduled } from '../../src/scenario/scheduler.ts';
import { ScenarioTimeouts } from '../../src/scenario/timeouts.ts';
import { loadTopologyWithConfigs } from '../../src/topology/load.ts';
import { writeGeneratedSuite } from '../helpers/generated-suite.ts';

const requestRows = Number(process.env.BENCH_CPM_CASES ?? 200);
const runtimes = (process.env.BENCH_CPM_RUNTIMES ?? 'local,netns,docker').split(',');
const cores = availableParallelism();
const jobsList = (process.env.BENCH_CPM_JOBS ?? `1,${cores},${cores * 2}`)
  .split(',')
  .map(Number)
  .filter((n, i, all) => n >= 1 && all.indexOf(n) === i);

/**
 * The local runtime takes the full 50-host estate; netns and docker a 24-host one (3 departments,
 * 6 clients), so the lab itself — a node process or a container per host — fits beside the cases.
 */
const estate = (runtime: string) => (runtime === 'local' ? {} : { hosts: 24 });

const work = await mkdtemp(join(tmpdir(), 'sockslab-cpm-'));
const rows: string[] = [];
try {
  for (const name of runtimes) {
    const dir = join(work, name);
    const suite = await writeGeneratedSuite(dir, requestRows, estate(name));
    const { topology, configs } = await loadTopologyWithConfigs(suite.topologyFile);
    const cases = allCases(
      await selectScenarios(topology, { ...scenarioPlace(suite.topologyFile), cwd: dir }),
    );
    const registry = await runtimeRegistry(name);
    let runtime: Awaited<ReturnType<typeof registry.ready>>;
    try {
      runtime = await registry.ready(name);
    } catch (err) {
      rows.push(`| ${name} | — | not available here: ${(err as Error).message.split('\n')[0]} | | |`);
      continue;
    }
    const upAt = performance.now();
    const lab = await runtime.up(topology, { timeouts: ScenarioTimeouts });
    const upMs = performance.now() - upAt;
    try {
      let serial = Number.NaN;
      for (const jobs of jobsList) {
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        const results = await runScheduled({
          lab,
          cases,
          jobs,
          predictor: createPredictor(topology, configs),
        });
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        // The driver's own CPU per case (runner, predictor, event decoding); the rest of the
        // machine's goes to the lab's servers, agents and probers.
        const driverMs = (cpu.user + cpu.system) / 1000 / cases.length;
        const perMinute = (results.length / ms) * 60_000;
        if (jobs === 1) serial = perMinute;
        const failed = results.filter((r) => r.verdict === 'fail').length;
        rows.push(
          `| ${name} | ${jobs} | ${perMinute.toFixed(0)} | ${jobs === 1 ? '1.00' : (perMinute / serial).toFixed(2)} | ${results.length} cases in ${(ms / 1000).toFixed(1)} s, ${failed} failed; driver CPU ${driverMs.toFixed(1)} ms/case; lab up in ${(upMs / 1000).toFixed(1)} s (${topology.hosts.length} hosts) |`,
        );
        process.stderr.write(`${rows[rows.length - 1]}\n`);
      }
    } finally {
      await lab.down();
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
process.stdout.write(
  [
    `cases per minute, generated suite (${requestRows} request rows + 3 fault cases), ${cores} cores:`,
    '',
    '| runtime | --jobs | cases/min | ÷ serial | |',
    '|---|---:|---:|---:|---|',
    ...rows,
    '',
  ].join('\n'),
);
