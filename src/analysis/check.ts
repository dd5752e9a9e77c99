import { Socks4Code } from '../policy/failure-reply.ts';
import { ConfigsInPlace } from '../scenario/config-undo.ts';
import { hopDestinations } from '../scenario/destinations.ts';
import { checkExpectations, type Failure } from '../scenario/expect.ts';
import { FaultsInPlace } from '../scenario/faults-in-place.ts';
import type { CaseExpectations, ScenarioCase, ScenarioStep } from '../scenario/model.ts';
import { originOf } from '../scenario/stitch.ts';
import type { Trace, TraceHop } from '../scenario/trace.ts';
import type { ResolvedTopology } from '../topology/model.ts';
import type { ParsedHostConfigs } from '../topology/resolve.ts';
import { type LintFinding, lintTopology } from './lint.ts';
import { type Prediction, predictRequest } from './predict.ts';
import {
  type CoveredCase,
  predictedBindInterface,
  type RuleCoverage,
  ruleCoverage,
} from './rule-coverage.ts';
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
  /** Which config lines the predicted cases reach and which decide them. */
  readonly coverage: RuleCoverage;
}

/** A prediction in the shape of an observed trace, so the one expectation checker reads both. */
export function predictedTrace(c: ScenarioCase, p: Prediction, topology: ResolvedTopology): Trace {
  const destinations = hopDestinations(
    { host: c.request.from, target: c.request.target.host, protocol: c.protocol },
    p.hops.map((h) => h.receipt ?? { host: h.host }),
  );
  const hops: TraceHop[] = p.hops.map((h, i) => {
    const destination = h.receipt ? destinations[i] : undefined;
    const next = p.hops[i + 1]?.host ?? (p.reached ? p.path[p.path.length - 1] : undefined);
    return {
      host: h.host,
      service: topology.hosts.find((x) => x.name === h.host)?.server?.kind ?? 'sockd',
      session: '',
      client: { address: '', port: 0 },
      from: h.from,
      user: h.user,
      ...(h.realUser !== undefined ? { realUser: h.realUser } : {}),
      ...(destination ? { destination } : {}),
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
      ...(h.reply === Socks4Code.Granted && next
        ? { outbound: { local: { address: '', port: 0 }, remote: { address: '', port: 0 }, to: next } }
        : {}),
      ...(h.iface ? { iface: h.iface } : {}),
      reply: h.reply,
      ...(h.bound !== undefined ? { bound: { address: h.bound, port: 0 } } : {}),
      ...(h.secondReply !== undefined ? { secondReply: h.secondReply } : {}),
      commands: [],
      logs: [],
    };
  });
  return {
    origin: originOf(c.request),
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

/** The predicted trace with the last hop's sockd.route choice, which the prediction does not carry. */
function withInterface(trace: Trace, iface: TraceHop['iface'] | undefined): Trace {
  if (!iface || trace.hops.length === 0) return trace;
  const hops = [...trace.hops];
  hops[hops.length - 1] = { ...hops[hops.length - 1]!, iface };
  return { ...trace, hops };
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
  /** The prediction as an observation (check adds the BIND interface it works out). */
  trace: Trace = predictedTrace(c, prediction, topology),
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
      trace,
    },
    c.protocol,
  );
}

export async function checkTopology(
  topology: ResolvedTopology,
  configs: ReadonlyMap<string, ParsedHostConfigs>,
  cases: readonly ScenarioCase[],
  /** How `origin` names the topology file in the coverage (default: its absolute path). */
  topologyFile: string = topology.file,
): Promise<CheckResult> {
  const world = new LabWorld(topology, configs);
  const checks: CaseCheck[] = [];
  const covered: CoveredCase[] = [];
  // The same putting back of replaced configs as the runner (scenario/config-undo.ts).
  const inPlace = new ConfigsInPlace(topology);
  const faults = new FaultsInPlace(topology.faults);
  const stepLints = new Map<string, LintFinding>();
  /** Lint, as in force after `step`, the config it put in place; findings point into the scenario. */
  const lintStep = (c: ScenarioCase, step: ScenarioStep) => {
    if (step.kind !== 'replaceConfig' || !step.config.parsed.ok) return;
    const origin = step.config.origin;
    for (const f of lintTopology(topology, world.configsInForce())) {
      if (f.host !== step.host || f.file !== step.file) continue;
      const finding: LintFinding = {
        ...f,
        file: origin.file,
        line: f.line === null ? origin.line : origin.line + f.line - 1,
        message: `${step.file} put in place by case "${c.name}": ${f.message}`,
      };
      stepLints.set(JSON.stringify(finding), finding);
    }
  };
  for (const c of cases) {
    const undo = [...inPlace.undoFor(c), ...faults.undoFor(c)];
    for (const s of c.steps) {
      world.apply(s);
      inPlace.follow(s);
      faults.follow(s);
      lintStep(c, s);
    }
    const prediction = await predictRequest(world, c.request);
    const iface = await predictedBindInterface(world, c, prediction);
    const trace = withInterface(predictedTrace(c, prediction, topology), iface);
    covered.push({ case: c, trace });
    // Where link faults make the outcome too close to call, the prediction says so and is not held against the case.
    const contradictions = prediction.undecided
      ? []
      : predictionContradictions(c, prediction, topology, c.expect, trace);
    checks.push({ case: c, prediction, contradictions });
    for (const s of c.cleanup) {
      world.apply(s);
      inPlace.follow(s);
      faults.follow(s);
      lintStep(c, s);
    }
    for (const s of undo) {
      world.apply(s);
      inPlace.follow(s);
      faults.follow(s);
    }
  }
  return {
    topology: topology.name,
    lints: [...lintTopology(topology, configs), ...stepLints.values()],
    cases: checks,
    coverage: ruleCoverage(topology, configs, covered, 'predicted', topologyFile),
  };
}
