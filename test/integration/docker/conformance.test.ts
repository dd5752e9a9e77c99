import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestFn } from 'ava';
import type { ServerTotals } from '../../../src/common/server-totals.ts';
import { dockerEngine, dockerRuntime, listRuns } from '../../../src/runtime/docker/index.ts';
import { localRuntime } from '../../../src/runtime/local/local-runtime.ts';
import type { LabTimeouts, Runtime } from '../../../src/runtime/runtime.ts';
import { allCases, selectScenarios } from '../../../src/scenario/discover.ts';
import type { CaseResult } from '../../../src/scenario/result.ts';
import { runCases } from '../../../src/scenario/runner.ts';
import { attemptTarget } from '../../../src/scenario/trace-text.ts';
import { loadTopology } from '../../../src/topology/load.ts';
import type { ResolvedTopology } from '../../../src/topology/model.ts';
import { assertNothingLeft, dockerTest, root } from './support.ts';

/**
 * Conformance (issue 7.5): every reference topology's scenario suite runs on the local runtime
 * and on Docker, and the two reports must agree case by case: verdict, reply, path, the deciding
 * rule of every hop, the route each hop took, and identd attribution.
 */

const test = (await dockerTest()) as TestFn;

/** The timers `sockslab run` uses for scenarios, so fault cases take seconds on both runtimes. */
const timeouts: LabTimeouts = {
  identd: 1_500,
  upstreamConnect: 1_500,
  establish: 8_000,
  requestRead: 8_000,
  unreachable: 1_000,
  identdRead: 1_500,
};

const runIds: string[] = [];

/** What must be equal across runtimes for one case. Ports, times and raw addresses are left out. */
function comparable(r: CaseResult) {
  return {
    verdict: r.verdict,
    failures: r.failures.map((f) => f.what),
    reply: r.outcome.reply,
    secondReply: r.outcome.secondReply ?? null,
    clientRoute: r.outcome.clientRoute ?? null,
    path: r.trace.path,
    reached: r.trace.destination?.reached ?? false,
    hops: r.trace.hops.map((h) => ({
      host: h.host,
      from: h.from,
      user: h.user,
      decision: h.decision,
      identd: h.identd ? { queried: h.identd.queried, user: h.identd.user, verdict: h.identd.verdict } : null,
      route: h.route
        ? {
            action: h.route.action,
            line: h.route.line,
            servers: h.route.servers,
            // The failure text too (errno, host and address): it must not depend on the runtime.
            attempts: h.route.attempts.map((a) => ({
              server: a.server,
              ok: a.ok,
              text: attemptTarget(a),
              error: a.error ?? null,
            })),
          }
        : null,
      outboundTo: h.outbound?.to ?? null,
      reply: h.reply,
      // Split DNS, credentials and BIND (issue 15): where the name was resolved, who the hop
      // thought the user was, the BIND's bound address, second reply and sockd.route line.
      realUser: h.realUser ?? null,
      destination: h.destination ?? null,
      bound: h.bound?.address ?? null,
      secondReply: h.secondReply === undefined ? 'n/a' : h.secondReply,
      sockdRoute: h.iface ?? null,
    })),
  };
}

/**
 * The servers' own counters (report.json `servers`), without byte counts: those depend on how
 * much of a probe's data crossed before a fault case's timer, which is timing, not conformance.
 */
type Counters = Record<string, Omit<ServerTotals, 'bytesFromClient' | 'bytesFromRemote'>>;

async function runSuite(
  runtime: Runtime,
  topology: ResolvedTopology,
): Promise<{ results: CaseResult[]; counters: Counters }> {
  const scenarios = await selectScenarios(topology, { directory: join(root, 'scenarios'), cwd: root });
  const lab = await runtime.up(topology, { timeouts });
  if (runtime.name === 'docker') runIds.push(lab.runId);
  try {
    const results = await runCases({ lab, cases: allCases(scenarios) });
    const counters: Counters = {};
    for (const [host, { bytesFromClient: _c, bytesFromRemote: _r, ...rest }] of Object.entries(
      (await lab.serverTotals?.()) ?? {},
    ))
      counters[host] = rest;
    return { results, counters };
  } finally {
    await lab.down();
  }
}

const references = readdirSync(join(root, 'topologies'))
  .filter((f) => f.endsWith('.yaml'))
  .filter((f) => readdirSync(join(root, 'scenarios')).includes(f))
  .sort();

test('every reference topology has a scenario suite to compare', (t) => {
  t.true(references.includes('seed-cascade.yaml'), `reference topologies: ${references.join(', ')}`);
});

for (const file of references) {
  // Serial: the suites share subnets (they would queue anyway) and compete for two cores.
  test.serial(
    `${file}: the Docker runtime gives the same verdicts, paths, rules and identd attribution as local`,
    async (t) => {
      t.timeout(180_000);
      const topology = await loadTopology(join(root, 'topologies', file));
      const { results: local, counters: localCounters } = await runSuite(localRuntime, topology);
      const { results: docker, counters: dockerCounters } = await runSuite(dockerRuntime, topology);
      // Each server host's counters (what its --metrics serves), as the report shows them.
      t.true(Object.keys(dockerCounters).length > 0, 'the docker lab reports server counters');
      t.deepEqual(dockerCounters, localCounters, 'server counters differ between docker and local');
      t.is(docker.length, local.length);
      t.true(local.length > 0, 'the suite has no cases');
      for (const [i, l] of local.entries()) {
        const d = docker[i];
        t.is(d?.case.name, l.case.name);
        if (!d) continue;
        t.deepEqual(comparable(d), comparable(l), `case "${l.case.name}" differs between docker and local`);
      }
      t.log(
        `${file}: ${local.length} cases agree (docker: ${docker.filter((r) => r.verdict === 'pass').length} passed)`,
      );
    },
  );
}

test.after.always('the conformance runs left no container or network behind', async (t) => {
  const runs = await listRuns(await dockerEngine());
  t.deepEqual(
    runs.filter((r) => runIds.includes(r.runId)),
    [],
  );
  await assertNothingLeft(t);
});
