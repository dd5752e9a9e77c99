import type { RuleCoverage } from '../analysis/rule-coverage.ts';
import type { ServerTotals } from '../common/server-totals.ts';
import type { Failure } from '../scenario/expect.ts';
import { serverUsed } from '../scenario/expect.ts';
import type { CaseExpectations } from '../scenario/model.ts';
import { describeReply, replyProtocol } from '../scenario/replies.ts';
import type { CaseResult } from '../scenario/result.ts';
import { describeStep } from '../scenario/step-text.ts';
import type { HopDecision, HopDestination, Trace } from '../scenario/trace.ts';
import { destinationText, showsDestination } from '../scenario/trace-text.ts';
import type { ResolvedTopology } from '../topology/model.ts';
import type { MatrixReport } from './matrix-heat.ts';

/**
 * The run report model: the stable, versioned shape written as report.json, and the one model
 * every renderer (JUnit, Markdown, HTML, terminal) reads. Pure: built from results, no I/O.
 * Shape changes that remove or rename fields need a new `version`.
 */
export const ReportVersion = 1;

export interface HopReport {
  readonly host: string;
  readonly from: string;
  /** The user the request claimed at this hop, which is what the deciding rule saw. */
  readonly user: string;
  readonly decision: HopDecision;
  readonly identd: {
    readonly queried: string;
    readonly answer: string | null;
    /** The user identd attributed (null: no usable answer). */
    readonly user: string | null;
    readonly verdict: string;
    /** The user the hop's deciding rule saw: the claimed USERID, which identd confirmed or not. */
    readonly userSeen: string;
  } | null;
  readonly route: {
    readonly action: 'deny' | 'direct' | 'sockd';
    readonly file: string | null;
    readonly line: number | null;
    readonly server: string | null;
    readonly attempts: readonly {
      readonly server: string;
      readonly host: string | null;
      readonly address: string | null;
      readonly port: number | null;
      readonly ok: boolean;
      readonly error: string | null;
    }[];
  } | null;
  readonly reply: number | null;
  /** The reply as a name, in the protocol this hop answered in. */
  readonly replyName: string;
  /** The user this hop attributed the request to (identd's answer; `unknown` when none). */
  readonly realUser: string | null;
  /** The destination as this hop received it and where its name was resolved (split DNS). */
  readonly destination: HopDestination | null;
  /** BIND: the sockd.route line that chose the listening interface (multi-homed hop). */
  readonly sockdRoute: {
    readonly address: string | null;
    readonly file: string | null;
    readonly line: number | null;
    readonly text: string | null;
  } | null;
  /** BIND: the address and port of this hop's first reply. */
  readonly bound: { readonly address: string; readonly port: number } | null;
  /** BIND: this hop's second reply (null: none; absent for CONNECT). */
  readonly secondReply?: number | null;
  readonly secondReplyName?: string;
  /** The lines above in words, as traces print them (for tables). */
  readonly details: readonly string[];
}

export interface CaseReport {
  readonly name: string;
  readonly scenario: string;
  readonly tags: readonly string[];
  readonly verdict: 'pass' | 'fail';
  readonly durationMs: number;
  readonly source: { readonly file: string; readonly line: number; readonly column: number };
  readonly request: {
    readonly from: string;
    /** Owner of the origin's socket (whom identd names). */
    readonly user: string;
    /** USERID sent instead of `user` (a forged claim); null = user. */
    readonly claim: string | null;
    readonly protocol: string;
    readonly command: 'connect' | 'bind';
    readonly target: string;
    readonly via: string;
    readonly send: string | null;
    readonly steps: readonly string[];
  };
  readonly expected: Readonly<Record<string, unknown>>;
  readonly observed: {
    readonly reply: number | null;
    readonly replyName: string;
    readonly secondReply: number | null;
    readonly path: readonly string[];
    readonly hops: readonly HopReport[];
    readonly reached: boolean;
    readonly received: string;
    readonly error: string | null;
  };
  readonly failures: readonly Failure[];
  readonly prediction: {
    readonly reply: number | null;
    readonly path: readonly string[];
    readonly agreed: boolean;
    readonly differences: readonly string[];
    readonly reasoning: readonly string[];
  } | null;
  readonly trace: Trace;
}

/** One cell of the identd attribution matrix: at this hop of this request, who asked whom. */
export interface AttributionRow {
  readonly case: string;
  readonly hop: string;
  /** The host that connected to the hop (whose identd is asked). */
  readonly from: string;
  readonly queried: string | null;
  readonly answer: string | null;
  /** The user identd attributed (null: no answer / not asked). */
  readonly identdUser: string | null;
  /** The user the deciding rule saw (the claimed USERID). */
  readonly ruleUser: string;
  readonly verdict: string;
  readonly decision: string;
}

export interface RunReport {
  readonly version: typeof ReportVersion;
  readonly run: {
    readonly id: string;
    readonly runtime: string;
    readonly startedAt: string;
    readonly finishedAt: string;
    readonly durationMs: number;
    readonly scenarios: readonly string[];
    readonly tags: readonly string[];
    readonly totals: { readonly cases: number; readonly passed: number; readonly failed: number };
    readonly predictions: { readonly agreed: number; readonly disagreed: number; readonly none: number };
    /** Present when the run was one shard of a suite (`run --shard K/N`); `report merge` reads it. */
    readonly shard?: ShardReport;
  };
  readonly topology: {
    readonly name: string;
    readonly file: string;
    readonly description: string | null;
    readonly networks: readonly { readonly name: string; readonly subnet: string }[];
    readonly hosts: readonly {
      readonly name: string;
      readonly role: string;
      readonly addresses: readonly { readonly network: string; readonly address: string }[];
      readonly server: { readonly kind: string; readonly port: number; readonly owner: string } | null;
      readonly identd: string | null;
    }[];
  };
  readonly cases: readonly CaseReport[];
  readonly attribution: readonly AttributionRow[];
  /** Which config lines the observed cases reached and which decided them (null: not computed). */
  readonly coverage: RuleCoverage | null;
  /** The request-class matrix of the topology (static, before fault steps); absent in older reports. */
  readonly matrix?: MatrixReport;
  /** Each server's own counters over the run (its metrics), where the runtime reports them. */
  readonly servers?: readonly ServerTotalsRow[];
  /** Diagrams that could not be drawn (each failure is its own; the others were written). */
  readonly diagramFailures: readonly DiagramFailureReport[];
}

/** Which slice of which suite a shard ran: what `sockslab report merge` checks before merging. */
export interface ShardReport {
  /** 1-based K of `--shard K/N`. */
  readonly index: number;
  readonly count: number;
  /** The whole suite: every shard of one suite carries the same (scenario/shard.ts). */
  readonly suite: { readonly cases: number; readonly fingerprint: string };
  /** Suite positions (from 0) of this report's cases, in order. */
  readonly positions: readonly number[];
}

/** One host's server counters for the whole run (every case, plus the lab's own checks). */
export interface ServerTotalsRow extends ServerTotals {
  readonly host: string;
}

export interface DiagramFailureReport {
  readonly diagram: string;
  readonly error: string;
}

export interface RunInfo {
  readonly id: string;
  readonly runtime: string;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly scenarios: readonly string[];
  readonly tags: readonly string[];
  /** How the topology file is named in the report (relative path, so reports are portable). */
  readonly topologyFile: string;
  readonly diagramFailures?: readonly DiagramFailureReport[];
  readonly shard?: ShardReport;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function hopReport(hop: Trace['hops'][number], origin?: string): HopReport {
  const protocol = replyProtocol(hop.replyVersion);
  return {
    host: hop.host,
    from: hop.from,
    user: hop.user,
    decision: { ...hop.decision },
    identd: hop.identd
      ? {
          queried: hop.identd.queried,
          answer: hop.identd.answer,
          user: hop.identd.user,
          verdict: hop.identd.verdict,
          userSeen: hop.user,
        }
      : null,
    route: hop.route
      ? {
          action: hop.route.action,
          file: hop.route.file,
          line: hop.route.line,
          server: serverUsed(hop) ?? null,
          attempts: hop.route.attempts.map((a) => ({
            server: a.server,
            host: a.host ?? null,
            address: a.address ?? null,
            port: a.port ?? null,
            ok: a.ok,
            error: a.error ?? null,
          })),
        }
      : null,
    reply: hop.reply,
    replyName: describeReply(hop.reply, protocol),
    realUser: hop.realUser ?? null,
    destination: hop.destination ?? null,
    sockdRoute: hop.iface
      ? {
          address: hop.iface.address,
          file: hop.iface.file,
          line: hop.iface.line,
          text: hop.iface.text ?? null,
        }
      : null,
    bound: hop.bound ? { address: hop.bound.address, port: hop.bound.port } : null,
    ...(hop.secondReply !== undefined
      ? { secondReply: hop.secondReply, secondReplyName: describeReply(hop.secondReply, protocol) }
      : {}),
    details: hopDetails(hop, origin),
  };
}

/** What a hop line adds beyond decision, identd and route (trace-text.ts's words), one per entry. */
function hopDetails(hop: Trace['hops'][number], origin: string | undefined): string[] {
  const protocol = replyProtocol(hop.replyVersion);
  const out: string[] = [];
  const d = hop.destination;
  if (showsDestination(d, origin)) out.push(destinationText(d));
  if (hop.iface)
    out.push(
      `sockd.route ${hop.iface.line === null ? '(no line matches)' : `${hop.iface.file ?? 'sockd.route'}:${hop.iface.line}${hop.iface.text !== undefined ? ` "${hop.iface.text}"` : ''}`} → ${hop.iface.address ?? 'refused'}`,
    );
  if (hop.bound) out.push(`bound ${hop.bound.address}:${hop.bound.port}`);
  if (hop.secondReply !== undefined) out.push(`second reply ${describeReply(hop.secondReply, protocol)}`);
  return out;
}

/** The expectations in report form: only what the case asked for. */
function expectedOf(e: CaseExpectations, protocol: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (e.reply !== undefined) out.reply = describeReply(e.reply, protocol);
  if (e.secondReply !== undefined) out.secondReply = describeReply(e.secondReply, protocol);
  if (e.path) out.path = e.path;
  if (e.hops && e.hops.length > 0) out.hops = e.hops;
  if (e.rules.length) out.rules = e.rules;
  if (e.identd.length) out.identd = e.identd;
  if (e.routes.length) out.route = e.routes;
  if (e.clientRoute) out.clientRoute = e.clientRoute;
  if (e.logs.length) out.logs = e.logs.map((m) => ({ host: m.host ?? null, text: m.text }));
  if (e.noLogs.length) out.noLogs = e.noLogs.map((m) => ({ host: m.host ?? null, text: m.text }));
  if (e.commands.length) out.commands = e.commands.map((m) => ({ host: m.host ?? null, text: m.text }));
  if (e.received !== undefined) out.received = e.received;
  if (e.echo !== undefined) out.echo = e.echo;
  if (e.reached !== undefined) out.reached = e.reached;
  return out;
}

export function caseReport(r: CaseResult): CaseReport {
  const c = r.case;
  const req = c.request;
  return {
    name: c.name,
    scenario: c.scenario,
    tags: c.tags,
    verdict: r.verdict,
    durationMs: r.durationMs,
    source: c.source,
    request: {
      from: req.from,
      user: req.user,
      claim: req.claim ?? null,
      protocol: req.protocol,
      command: req.command,
      target: `${req.target.host}:${req.target.port}`,
      via: req.via ?? 'socks.conf',
      send: req.send ?? null,
      steps: c.steps.map(describeStep),
    },
    expected: expectedOf(c.expect, c.protocol),
    observed: {
      reply: r.outcome.reply,
      replyName: describeReply(r.outcome.reply, c.protocol),
      secondReply: r.outcome.secondReply ?? null,
      path: r.trace.path,
      hops: r.trace.hops.map((hop) => hopReport(hop, r.trace.origin.host)),
      reached: r.trace.destination?.reached ?? false,
      received: r.outcome.received,
      error: r.outcome.error ?? null,
    },
    failures: r.failures,
    prediction: r.prediction
      ? {
          reply: r.prediction.reply,
          path: r.prediction.path,
          agreed: r.prediction.agreed,
          differences: r.prediction.differences,
          reasoning: r.prediction.reasoning,
        }
      : null,
    trace: r.trace,
  };
}

/** `x`, or `y (claims x)` when the origin's socket owner y sent the USERID x. */
export function requestUser(c: Pick<CaseReport, 'request'>): string {
  return c.request.claim !== null ? `${c.request.user} (claims ${c.request.claim})` : c.request.user;
}

export function attributionRows(cases: readonly CaseReport[]): AttributionRow[] {
  return cases.flatMap((c) =>
    c.observed.hops.map((h) => ({
      case: c.name,
      hop: h.host,
      from: h.from,
      queried: h.identd?.queried ?? null,
      answer: h.identd?.answer ?? null,
      identdUser: h.identd?.user ?? null,
      ruleUser: h.user,
      verdict: h.identd?.verdict ?? 'not asked',
      decision: `${h.decision.action} ${h.decision.file ?? '(no rule)'}:${h.decision.line ?? '-'}`,
    })),
  );
}

export function topologySummary(topology: ResolvedTopology, file: string): RunReport['topology'] {
  return {
    name: topology.name,
    file,
    description: topology.description ?? null,
    networks: topology.networks.map((n) => ({ name: n.name, subnet: n.subnet })),
    hosts: topology.hosts.map((h) => ({
      name: h.name,
      role: h.role,
      addresses: h.interfaces.map((i) => ({ network: i.network, address: i.address })),
      server: h.server ? { kind: h.server.kind, port: h.server.port, owner: h.server.owner } : null,
      identd: h.identd ? h.identd.behaviour.kind : null,
    })),
  };
}

export function buildRunReport(
  info: RunInfo,
  topology: ResolvedTopology,
  results: readonly CaseResult[],
  coverage: RuleCoverage | null = null,
  servers?: Readonly<Record<string, ServerTotals>>,
): RunReport {
  return assembleRunReport(
    info,
    topologySummary(topology, info.topologyFile),
    results.map(caseReport),
    coverage,
    servers
      ? topology.hosts.flatMap((host) => {
          const totals = servers[host.name];
          return totals ? [sortedCounts({ host: host.name, ...totals })] : [];
        })
      : undefined,
  );
}

/**
 * A host's counters with their reply codes and identd verdicts in a fixed key order (metrics list
 * them in the order first counted), so the same counts read the same however the run was split.
 */
export function sortedCounts(row: ServerTotalsRow): ServerTotalsRow {
  const sort = (r: Readonly<Record<string, number>>) =>
    Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })));
  return { ...row, replies: sort(row.replies), identd: sort(row.identd) };
}

/**
 * The report from its parts, in report.json's key order: a run builds it from its results, and
 * `report merge` from the shards' cases, so a merged report is laid out as a single run's.
 */
export function assembleRunReport(
  info: RunInfo,
  topology: RunReport['topology'],
  cases: readonly CaseReport[],
  coverage: RuleCoverage | null,
  servers: readonly ServerTotalsRow[] | undefined,
): RunReport {
  const passed = cases.filter((c) => c.verdict === 'pass').length;
  const predicted = cases.filter((c) => c.prediction);
  return {
    version: ReportVersion,
    run: {
      id: info.id,
      runtime: info.runtime,
      startedAt: iso(info.startedAt),
      finishedAt: iso(info.finishedAt),
      durationMs: info.finishedAt - info.startedAt,
      scenarios: info.scenarios,
      tags: info.tags,
      totals: { cases: cases.length, passed, failed: cases.length - passed },
      predictions: {
        agreed: predicted.filter((c) => c.prediction!.agreed).length,
        disagreed: predicted.filter((c) => !c.prediction!.agreed).length,
        none: cases.length - predicted.length,
      },
      ...(info.shard ? { shard: info.shard } : {}),
    },
    topology,
    cases,
    attribution: attributionRows(cases),
    coverage,
    diagramFailures: info.diagramFailures ?? [],
    ...(servers ? { servers } : {}),
  };
}
