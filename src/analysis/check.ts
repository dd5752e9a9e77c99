import { checkExpectations, type Failure } from '../scenario/expect.ts';
import type { CaseExpectations, ScenarioCase } from '../scenario/model.ts';
import type { Trace, TraceHop } from '../scenario/trace.ts';
import type { ResolvedTopology } from '../topology/model.ts';
import type { ParsedHostConfigs } from '../topology/resolve.ts';
import { type LintFinding, lintTopology } from './lint.ts';
import { type Prediction, predictRequest } from './predict.ts';
import { LabWorld } from './world.ts';

/**
 * `sockslab check` without a runtime: lint the configs and predict every scenario case (in
 * order, following their fault steps), then hold each prediction against the case's own
 * expectations. A contradiction means the scenario or the configs are wrong before anything runs.
 */

export interface CaseCheck {
  readonly case: ScenarioCase;
  readonly prediction: Prediction;
  /** Expectations the prediction contradicts (logs, commands and data are not predicted). */
  readonly contradictions: readonly Failure[];
}

export interface CheckResult {
  readonly topology: string;
  readonly lints: readonly LintFinding[];
  readonly cases: readonly CaseCheck[];
}

/** A prediction in the shape of an observed trace, so the one expectation checker reads both. */
export function predictedTrace(c: ScenarioCase, p: Prediction, topology: ResolvedTopology): Trace {
  const hops: TraceHop[] = p.hops.map((h, i) => {
    const next = p.hops[i + 1]?.host ?? (p.reached ? p.path[p.path.length - 1] : undefined);
    return {
      host: h.host,
      service: topology.hosts.find((x) => x.name === h.host)?.server?.kind ?? 'sockd',
      session: '',
      client: { address: '', port: 0 },
      from: h.from,
      user: h.user,
      decision: h.decision,
      ...(h.identd
        ? {
            identd: {
              queried: h.identd.queried,
              answer: null,
              user: h.identd.user,
              verdict: h.identd.verdict,
            },
          }
        : {}),
      ...(h.route
        ? {
            route: {
              action: h.route.action,
              file: h.route.file,
              line: h.route.line,
              servers: [],
              attempts: h.route.attempts.map((a) => ({
                server: a.server,
                ok: a.ok,
                ...(a.host ? { host: a.host } : {}),
              })),
            },
          }
        : {}),
      ...(h.reply === 90 && next
        ? { outbound: { local: { address: '', port: 0 }, remote: { address: '', port: 0 }, to: next } }
        : {}),
      reply: h.reply,
      commands: [],
      logs: [],
    };
  });
  return {
    origin: { host: c.request.from, user: c.request.user },
    target: c.request.target,
    protocol: c.protocol,
    command: c.request.command,
    hops,
    path: p.path,
    destination: { host: p.path[p.path.length - 1] ?? c.request.target.host, reached: p.reached },
    reply: p.reply,
    ...(p.secondReply !== undefined ? { secondReply: p.secondReply } : {}),
    ...(p.clientRoute ? { clientRoute: p.clientRoute } : {}),
  };
}

/** Only what static analysis can know: replies, path, rules, identd, routes. */
function predictable(e: CaseExpectations): CaseExpectations {
  const { received: _received, echo: _echo, ...rest } = e;
  return { ...rest, logs: [], noLogs: [], commands: [] };
}

/**
 * What the one expectation checker says about a prediction: the expectations of `c` (only the
 * predictable part) held against the prediction in the shape of an observation.
 */
export function predictionContradictions(
  c: ScenarioCase,
  prediction: Prediction,
  topology: ResolvedTopology,
  expect: CaseExpectations = c.expect,
): Failure[] {
  return checkExpectations(
    predictable(expect),
    {
      outcome: {
        reply: prediction.reply,
        ...(prediction.secondReply !== undefined ? { secondReply: prediction.secondReply } : {}),
        protocol: c.protocol,
        received: '',
        durationMs: 0,
        ...(prediction.clientRoute ? { clientRoute: prediction.clientRoute } : {}),
      },
      trace: predictedTrace(c, prediction, topology),
    },
    c.protocol,
  );
}

export async function checkTopology(
  topology: ResolvedTopology,
  configs: ReadonlyMap<string, ParsedHostConfigs>,
  cases: readonly ScenarioCase[],
): Promise<CheckResult> {
  const world = new LabWorld(topology, configs);
  const checks: CaseCheck[] = [];
  for (const c of cases) {
    for (const s of c.steps) world.apply(s);
    const prediction = await predictRequest(world, c.request);
    const contradictions = predictionContradictions(c, prediction, topology);
    checks.push({ case: c, prediction, contradictions });
    for (const s of c.cleanup) world.apply(s);
  }
  return { topology: topology.name, lints: lintTopology(topology, configs), cases: checks };
}
