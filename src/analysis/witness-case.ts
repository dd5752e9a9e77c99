import type { ProbeRequest } from '../runtime/runtime.ts';
import type {
  CaseExpectations,
  IdentdExpectation,
  RouteExpectation,
  RuleExpectation,
  ScenarioCase,
  ScenarioStep,
} from '../scenario/model.ts';
import { NoReply, Socks4ReplyNames } from '../scenario/replies.ts';
import type { RawCase, RawExpect, RawStep } from '../scenario/schema.ts';
import { rawLinkFault } from '../topology/link-faults.ts';
import type { Prediction } from './predict.ts';

/**
 * Witness requests as scenario cases: a request (with the fault steps it needs) turned into a
 * ScenarioCase the one expectation checker can judge, its predicted outcome cut into single
 * expectations, and the raw YAML shape a person pastes into a scenario file.
 */

/** One request of a request class, with the world it meets (steps before, cleanup after). */
export interface Witness {
  readonly request: ProbeRequest;
  readonly steps: readonly ScenarioStep[];
  readonly cleanup: readonly ScenarioStep[];
  /** What the class stands for, for humans (`C root → z:7`). */
  readonly label: string;
}

const Empty: CaseExpectations = { rules: [], identd: [], routes: [], logs: [], noLogs: [], commands: [] };

/**
 * A scenario case made from a request rather than read from a scenario file: what `diff
 * --confirm` replays and what mutate runs. `file` stands where a scenario's path would.
 */
export function requestCase(c: {
  readonly name: string;
  readonly file: string;
  readonly request: ProbeRequest;
  readonly timeoutMs: number;
  readonly tags?: readonly string[];
  readonly steps?: readonly ScenarioStep[];
  readonly cleanup?: readonly ScenarioStep[];
  readonly expect?: CaseExpectations;
}): ScenarioCase {
  return {
    name: c.name,
    scenario: c.file,
    tags: c.tags ?? [],
    protocol: c.request.protocol,
    request: c.request,
    steps: c.steps ?? [],
    cleanup: c.cleanup ?? [],
    keep: false,
    timeoutMs: c.timeoutMs,
    expect: c.expect ?? Empty,
    source: { file: c.file, line: 0, column: 0 },
  };
}

/** The witness as a case with the given expectations (what predictionContradictions reads). */
export function witnessCase(w: Witness, name: string, expect: CaseExpectations = Empty): ScenarioCase {
  const { request, steps, cleanup } = w;
  return requestCase({
    name,
    file: '(mutate)',
    tags: ['mutate'],
    request,
    steps,
    cleanup,
    timeoutMs: 5000,
    expect,
  });
}

/**
 * Everything the prediction says that a scenario can expect, one expectation per piece (reply,
 * path, each hop's rule, identd and route, ...), so the pieces another outcome breaks can be kept.
 */
export function expectationPieces(p: Prediction, request: ProbeRequest): CaseExpectations[] {
  const pieces: CaseExpectations[] = [
    { ...Empty, reply: p.reply },
    { ...Empty, path: p.path },
  ];
  if (request.command === 'bind') pieces.push({ ...Empty, secondReply: p.secondReply ?? null });
  pieces.push({ ...Empty, reached: p.reached });
  if (p.clientRoute) {
    pieces.push({
      ...Empty,
      clientRoute: {
        action: p.clientRoute.action,
        ...(p.clientRoute.line !== null ? { line: p.clientRoute.line } : {}),
      },
    });
  }
  for (const h of p.hops) {
    const d = h.decision;
    // A decision by no line is pinned by its reason (the implicit deny cites nothing).
    const rule: RuleExpectation =
      d.line === null
        ? { host: h.host, action: d.action, reason: d.reason }
        : { host: h.host, ...(d.file !== null ? { file: d.file } : {}), line: d.line, action: d.action };
    pieces.push({ ...Empty, rules: [rule] });
    const identd: IdentdExpectation = h.identd
      ? { host: h.host, queried: h.identd.queried, user: h.identd.user, verdict: h.identd.verdict }
      : { host: h.host, none: true };
    pieces.push({ ...Empty, identd: [identd] });
    if (h.route) {
      const used = h.route.attempts.find((a) => a.ok);
      const route: RouteExpectation = {
        host: h.host,
        action: h.route.action,
        ...(h.route.file !== null ? { file: h.route.file } : {}),
        ...(h.route.line !== null ? { line: h.route.line } : {}),
        ...(used ? { server: used.host ?? used.server } : {}),
        ...(h.route.action === 'sockd'
          ? { attempts: h.route.attempts.map((a) => ({ server: a.host ?? a.server, ok: a.ok })) }
          : {}),
      };
      pieces.push({ ...Empty, routes: [route] });
    }
  }
  return pieces;
}

/** The object without its undefined fields (YAML would print them as null). */
function stripUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}

/** One expectation set holding every piece. */
export function mergeExpectations(pieces: readonly CaseExpectations[]): CaseExpectations {
  let out: CaseExpectations = Empty;
  for (const p of pieces) {
    out = {
      ...out,
      ...(p.reply !== undefined ? { reply: p.reply } : {}),
      ...(p.secondReply !== undefined ? { secondReply: p.secondReply } : {}),
      ...(p.path !== undefined ? { path: p.path } : {}),
      ...(p.reached !== undefined ? { reached: p.reached } : {}),
      ...(p.clientRoute !== undefined ? { clientRoute: p.clientRoute } : {}),
      rules: [...out.rules, ...p.rules],
      identd: [...out.identd, ...p.identd],
      routes: [...out.routes, ...p.routes],
    };
  }
  return out;
}

// ---- the YAML shape -------------------------------------------------------------------------

function rawReply(code: number | null, protocol: ProbeRequest['protocol']): number | string {
  if (code === null) return NoReply;
  if (protocol === 'socks5') return code;
  return Object.entries(Socks4ReplyNames).find(([, c]) => c === code)?.[0] ?? code;
}

function rawStep(step: ScenarioStep): RawStep {
  switch (step.kind) {
    case 'stop':
      return { stop: step.host };
    case 'start':
      return { start: step.host };
    case 'cut':
      return { cut: step.network };
    case 'restore':
      return { restore: step.network };
    case 'wait':
      return { wait: step.ms };
    case 'fault':
      return { fault: rawLinkFault(step.fault) };
    case 'heal':
      return {
        heal:
          step.host === undefined
            ? 'all'
            : { host: step.host, ...(step.network ? { network: step.network } : {}) },
      };
    case 'faults':
      // Only the runner's put-back makes this step; it is never part of a case.
      throw new Error('a put-back of link faults has no YAML form');
    case 'replaceConfig':
      return {
        replaceConfig: {
          host: step.host,
          file: step.file,
          text: step.text,
          ...(step.reloaded !== undefined ? { reloaded: step.reloaded } : {}),
        },
      };
    case 'identd': {
      const b = step.behaviour;
      const behaviour =
        b.kind === 'lying' ? { lying: b.user } : b.kind === 'error' ? { error: b.error } : b.kind;
      return { identd: { host: step.host, behaviour } };
    }
  }
}

function rawExpect(e: CaseExpectations, protocol: ProbeRequest['protocol']): RawExpect {
  const identd: Record<string, string | { queried?: string; user?: string | null; verdict?: string }> = {};
  for (const i of e.identd) {
    identd[i.host] = i.none
      ? 'none'
      : stripUndefined({ queried: i.queried, user: i.user, verdict: i.verdict });
  }
  const routes = e.routes.map((r) =>
    stripUndefined({
      host: r.host,
      action: r.action,
      server: r.server,
      file: r.file,
      line: r.line,
      attempts: r.attempts,
    }),
  );
  return stripUndefined({
    reply: e.reply !== undefined ? rawReply(e.reply, protocol) : undefined,
    secondReply: e.secondReply !== undefined ? rawReply(e.secondReply, protocol) : undefined,
    path: e.path ? [...e.path] : undefined,
    rules: e.rules.length ? e.rules.map((r) => stripUndefined({ ...r })) : undefined,
    identd: e.identd.length ? identd : undefined,
    route: routes.length === 0 ? undefined : routes.length === 1 ? routes[0] : routes,
    clientRoute: e.clientRoute ? stripUndefined({ ...e.clientRoute }) : undefined,
    reached: e.reached,
  }) as RawExpect;
}

/** The case as a scenario file writes it (`sockslab mutate` prints it as YAML). */
export function rawCase(name: string, w: Witness, expect: CaseExpectations): RawCase {
  const r = w.request;
  const target = `${r.target.host}:${r.target.port}`;
  return stripUndefined({
    name,
    from: r.from,
    user: r.user,
    protocol: r.protocol === 'socks4' ? undefined : r.protocol,
    credentials: r.credentials ? { ...r.credentials } : undefined,
    via: r.via !== undefined && !r.useSocksConf ? r.via : undefined,
    connect: r.command === 'connect' ? target : undefined,
    bind:
      r.command === 'bind'
        ? stripUndefined({
            host: r.target.host,
            port: r.target.port,
            peer: r.bindPeer?.from,
            peerUser: r.bindPeer?.user,
          })
        : undefined,
    steps: w.steps.length ? w.steps.map(rawStep) : undefined,
    cleanup: w.cleanup.length ? w.cleanup.map(rawStep) : undefined,
    expect: rawExpect(expect, r.protocol),
  }) as RawCase;
}
