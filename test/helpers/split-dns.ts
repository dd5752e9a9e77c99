import { join, resolve } from 'node:path';
import { checkTopology } from '../../src/analysis/check.ts';
import { createPredictor } from '../../src/analysis/predictor.ts';
import type { LabTimeouts, Runtime } from '../../src/runtime/runtime.ts';
import { allCases, selectScenarios } from '../../src/scenario/discover.ts';
import type { CaseResult } from '../../src/scenario/result.ts';
import { runCases } from '../../src/scenario/runner.ts';
import { loadTopologyWithConfigs } from '../../src/topology/load.ts';

/**
 * The split-DNS review design (topologies/split-dns.yaml + scenarios/split-dns.yaml) run on a
 * runtime, with what must come out the same on every runtime: the shared part of the local,
 * netns and docker tests (no ava import: the docker conformance test reads `comparableHop` too).
 */

const root = resolve(import.meta.dirname, '../..');

export const splitDnsFile = join(root, 'topologies/split-dns.yaml');

/** The timers `sockslab run` uses, so the refusal cases take seconds on every runtime. */
export const splitDnsTimeouts: LabTimeouts = {
  identd: 1_500,
  upstreamConnect: 1_500,
  establish: 8_000,
  requestRead: 8_000,
  unreachable: 1_000,
  identdRead: 1_500,
};

export async function loadSplitDns() {
  const loaded = await loadTopologyWithConfigs(splitDnsFile);
  const scenarios = await selectScenarios(loaded.topology, { directory: join(root, 'scenarios'), cwd: root });
  return { ...loaded, cases: allCases(scenarios) };
}

/** The suite on a runtime, each case also predicted (`prediction.agreed` = check agrees with the run). */
export async function runSplitDns(runtime: Runtime): Promise<CaseResult[]> {
  const { topology, configs, cases } = await loadSplitDns();
  const lab = await runtime.up(topology, { timeouts: splitDnsTimeouts });
  try {
    return await runCases({ lab, cases, predictor: createPredictor(topology, configs) });
  } finally {
    await lab.down();
  }
}

/** `sockslab check` over the same suite: every case's contradictions (none = predicted as expected). */
export async function checkSplitDns() {
  const { topology, configs, cases } = await loadSplitDns();
  return checkTopology(topology, configs, cases);
}

/** One hop's runtime-independent record: no ports, sessions or times; names, lines and addresses. */
export function comparableHop(h: CaseResult['trace']['hops'][number]) {
  return {
    host: h.host,
    from: h.from,
    user: h.user,
    realUser: h.realUser ?? null,
    destination: h.destination ?? null,
    decision: h.decision,
    identd: h.identd ? { queried: h.identd.queried, user: h.identd.user, verdict: h.identd.verdict } : null,
    route: h.route ? { action: h.route.action, line: h.route.line } : null,
    outboundTo: h.outbound?.to ?? null,
    reply: h.reply,
    bound: h.bound?.address ?? null,
    secondReply: h.secondReply === undefined ? 'n/a' : h.secondReply,
    sockdRoute: h.iface ?? null,
  };
}

export function comparableCase(r: CaseResult) {
  return {
    name: r.case.name,
    verdict: r.verdict,
    failures: r.failures.map((f) => `${f.what}: expected ${f.expected}, got ${f.actual}`),
    reply: r.outcome.reply,
    secondReply: r.outcome.secondReply ?? null,
    origin: r.trace.origin,
    path: r.trace.path,
    hops: r.trace.hops.map(comparableHop),
    predictionAgreed: r.prediction?.agreed ?? null,
    predictionDifferences: r.prediction?.differences ?? [],
  };
}
