import { join } from 'node:path';
import type { TestFn } from 'ava';
import { checkTopology } from '../../../src/analysis/check.ts';
import { createPredictor } from '../../../src/analysis/predictor.ts';
import { dockerRuntime } from '../../../src/runtime/docker/index.ts';
import { localRuntime } from '../../../src/runtime/local/local-runtime.ts';
import { netnsRuntime } from '../../../src/runtime/netns/index.ts';
import type { Runtime } from '../../../src/runtime/runtime.ts';
import { allCases, selectScenarios } from '../../../src/scenario/discover.ts';
import type { CaseResult } from '../../../src/scenario/result.ts';
import { runCases } from '../../../src/scenario/runner.ts';
import { ScenarioTimeouts } from '../../../src/scenario/timeouts.ts';
import { attemptTarget } from '../../../src/scenario/trace-text.ts';
import { loadTopologyWithConfigs } from '../../../src/topology/load.ts';
import { faultTopologyFile } from '../../helpers/link-fault-kinds.ts';
import { dockerTest, requireAll, root } from './support.ts';

/**
 * Issue 15's review suite for link faults: the DMZ-with-failover design (slow first upstream
 * below and beyond its timer, cut, reset and one-way-dropping first upstream, slow identd,
 * lossy links, forged claims) passes on local, netns and docker with the same verdict, reply,
 * path, deciding rules, identd attribution and failover attempts (errno included) case by case,
 * and `sockslab check` predicts every case as the runs observed it.
 * Run under the heavy lock: `flock /work/wt/heavy.lock npx ava test/integration/docker/review-suite.test.ts`.
 */

const test = (await dockerTest()) as TestFn;
const { topology, configs } = await loadTopologyWithConfigs(faultTopologyFile);
const scenarios = await selectScenarios(topology, { directory: join(root, 'scenarios'), cwd: root });
const cases = allCases(scenarios);

function comparable(r: CaseResult) {
  return {
    verdict: r.verdict,
    failures: r.failures.map((f) => `${f.what}: ${f.actual}`),
    reply: r.outcome.reply,
    path: r.trace.path,
    reached: r.trace.destination?.reached ?? false,
    received: r.outcome.received,
    hops: r.trace.hops.map((h) => ({
      host: h.host,
      user: h.user,
      decision: h.decision,
      identd: h.identd ? { queried: h.identd.queried, user: h.identd.user, verdict: h.identd.verdict } : null,
      attempts:
        h.route?.attempts.map((a) => ({
          server: a.server,
          ok: a.ok,
          text: attemptTarget(a),
          error: a.error ?? null,
        })) ?? null,
      reply: h.reply,
    })),
  };
}

async function runOn(runtime: Runtime): Promise<CaseResult[]> {
  const lab = await runtime.up(topology, { timeouts: ScenarioTimeouts });
  try {
    return await runCases({
      lab,
      cases,
      predictor: createPredictor(topology, configs, ScenarioTimeouts),
      timers: ScenarioTimeouts,
    });
  } finally {
    await lab.down();
  }
}

test.serial(
  'dmz-failover passes identically on local, netns and docker, and check predicts every case as observed',
  async (t) => {
    t.timeout(420_000);
    t.true(cases.length >= 12, `${cases.length} cases`);
    const runtimes: Runtime[] = [localRuntime, dockerRuntime];
    const netns = await netnsRuntime.probe();
    if (netns.ok) runtimes.splice(1, 0, netnsRuntime);
    else if (requireAll) t.fail(`netns runtime unavailable: ${netns.reason}`);
    else t.log(`netns left out: ${netns.reason}`);

    const check = await checkTopology(topology, configs, cases);
    t.deepEqual(
      check.cases.filter((c) => c.contradictions.length > 0).map((c) => c.case.name),
      [],
      'check finds no contradiction',
    );
    t.deepEqual(
      check.cases.filter((c) => c.prediction.undecided).map((c) => c.case.name),
      [],
      'check decides every case',
    );

    const [first, ...others] = await (async () => {
      const out: { name: string; results: CaseResult[] }[] = [];
      for (const r of runtimes) out.push({ name: r.name, results: await runOn(r) });
      return out;
    })();
    if (!first) return;
    for (const run of [first, ...others]) {
      t.deepEqual(
        run.results.filter((r) => r.verdict !== 'pass').map((r) => [r.case.name, r.failures]),
        [],
        `${run.name}: every case passes`,
      );
      t.deepEqual(
        run.results.filter((r) => !r.prediction?.agreed).map((r) => [r.case.name, r.prediction?.differences]),
        [],
        `${run.name}: every prediction agrees`,
      );
      for (const [i, r] of run.results.entries()) {
        const p = check.cases[i]?.prediction;
        t.deepEqual(
          [r.outcome.reply, r.trace.path],
          [p?.reply, p?.path],
          `${run.name}: check's prediction of "${r.case.name}"`,
        );
      }
    }
    for (const other of others) {
      for (const [i, l] of first.results.entries()) {
        t.deepEqual(
          comparable(other.results[i]!),
          comparable(l),
          `"${l.case.name}" differs between ${other.name} and ${first.name}`,
        );
      }
    }
    t.log(`${cases.length} cases agree on ${[first, ...others].map((r) => r.name).join(', ')}`);
  },
);
