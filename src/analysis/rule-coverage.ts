import type { ClientConfig, RouteConfig, ServerConfig } from '../config/ast.ts';
import { linesCompared } from '../policy/first-match.ts';
import { ConfigsInPlace } from '../scenario/config-undo.ts';
import type { ScenarioCase } from '../scenario/model.ts';
import type { Trace, TraceHop } from '../scenario/trace.ts';
import type { ConfigText, HostModel, ResolvedTopology } from '../topology/model.ts';
import type { ParsedHostConfigs } from '../topology/resolve.ts';
import type { Prediction } from './predict.ts';
import { LabWorld } from './world.ts';

/**
 * Rule coverage (not to be confused with cover.ts, where one rule covers another): for every
 * line of every sockd.conf, socks.conf and sockd.route of the topology, the cases whose request
 * was compared against it ("reached") and the cases it decided. Read from traces — observed by
 * `sockslab run` or predicted by `sockslab check` — so both sides count the same way: a trace
 * cites each deciding line, and first-match order (policy/first-match.ts) gives the lines before it.
 */

export type CoveredFile = 'sockd.conf' | 'socks.conf' | 'sockd.route';
/** `server`: the file of the host's SOCKS server; `probe`: the socks.conf of programs on the host. */
export type FileUser = 'server' | 'probe';

export interface CoveredLine {
  readonly line: number;
  readonly text: string;
  /** false for comments, blank lines and #NO_IDENTD/#BAD_ID lines: no request is compared with them. */
  readonly rule: boolean;
  /** Cases whose request was compared with this line, in case order. */
  readonly reached: readonly string[];
  /** Cases this line decided. */
  readonly decided: readonly string[];
}

export interface CoverageTotals {
  /** Rule lines. */
  readonly rules: number;
  /** Rule lines at least one case reached. */
  readonly reached: number;
  /** Rule lines that decided at least one case. */
  readonly decided: number;
  /** Rule lines no case reached. */
  readonly never: number;
}

export interface FileCoverage {
  readonly host: string;
  readonly file: CoveredFile;
  readonly usedBy: FileUser;
  /** Where the text is written (`topologies/x.yaml:42` for an inline block). */
  readonly origin: string;
  /** Every physical line of the file. */
  readonly lines: readonly CoveredLine[];
  readonly totals: CoverageTotals;
}

export interface HostCoverage {
  readonly host: string;
  readonly files: readonly FileCoverage[];
  readonly totals: CoverageTotals;
}

export interface NeverReached {
  readonly host: string;
  readonly file: CoveredFile;
  readonly usedBy: FileUser;
  readonly line: number;
  readonly text: string;
}

export interface RuleCoverage {
  /** observed: from `sockslab run` traces; predicted: from `sockslab check`. */
  readonly basis: 'observed' | 'predicted';
  readonly cases: number;
  readonly hosts: readonly HostCoverage[];
  /** Rule lines no case reached, in topology order. */
  readonly never: readonly NeverReached[];
  readonly totals: CoverageTotals;
  /**
   * Decisions made under a text a scenario step had put in place of the topology's (a reload):
   * their line numbers are of another text, so they count for no line here.
   */
  readonly uncounted: readonly {
    readonly case: string;
    readonly host: string;
    readonly file: CoveredFile;
    readonly line: number | null;
  }[];
}

/** One case as rule coverage reads it. */
export interface CoveredCase {
  readonly case: ScenarioCase;
  readonly trace: Trace;
}

/** A decision read from a trace: the deciding line, or null when the request matched no line (all compared). */
interface Hit {
  readonly host: string;
  readonly file: CoveredFile;
  readonly usedBy: FileUser;
  readonly line: number | null;
}

/**
 * The decisions a trace records, one per file consulted. A line-less route decision is either a
 * shortcut (direct: loopback destination or no file — no line compared) or no line matching
 * (deny — every line compared); the action tells which.
 */
export function traceHits(trace: Trace): Hit[] {
  const hits: Hit[] = [];
  const cr = trace.clientRoute;
  if (cr && (cr.line !== null || cr.action === 'deny')) {
    hits.push({ host: trace.origin.host, file: 'socks.conf', usedBy: 'probe', line: cr.line });
  }
  for (const hop of trace.hops) hits.push(...hopHits(hop));
  return hits;
}

function hopHits(hop: TraceHop): Hit[] {
  const hits: Hit[] = [];
  const d = hop.decision;
  // config-unusable, auth-failed, no-decision: no line was compared.
  if (d.line !== null || d.reason === 'no-match') {
    hits.push({ host: hop.host, file: 'sockd.conf', usedBy: 'server', line: d.line });
  }
  const r = hop.route;
  if (r && (r.line !== null || r.action === 'deny')) {
    hits.push({ host: hop.host, file: 'socks.conf', usedBy: 'server', line: r.line });
  }
  if (hop.iface) hits.push({ host: hop.host, file: 'sockd.route', usedBy: 'server', line: hop.iface.line });
  return hits;
}

interface Slot {
  readonly host: HostModel;
  readonly file: CoveredFile;
  readonly usedBy: FileUser;
  readonly text: ConfigText;
  /** The parsed file the topology gives. */
  readonly config: ServerConfig | ClientConfig | RouteConfig;
  readonly reached: Map<number, string[]>;
  readonly decided: Map<number, string[]>;
}

const slotKey = (host: string, file: CoveredFile, usedBy: FileUser) => `${host}|${file}|${usedBy}`;

function ruleLines(config: Slot['config']): readonly { readonly line: number }[] {
  return config.kind === 'sockd.route' ? config.routes : config.rules;
}

/** Same lines with the same text: a reload that put the topology's own text back counts as it. */
function sameRules(a: Slot['config'] | null | undefined, b: Slot['config']): boolean {
  if (!a || a.kind !== b.kind) return false;
  const la = a.kind === 'sockd.route' ? a.routes : a.rules;
  const lb = b.kind === 'sockd.route' ? b.routes : b.rules;
  return la.length === lb.length && la.every((r, i) => r.line === lb[i]!.line && r.source === lb[i]!.source);
}

function inForce(world: LabWorld, slot: Slot): Slot['config'] | null | undefined {
  const name = slot.host.name;
  if (slot.usedBy === 'probe') return world.probeConfig(name);
  if (slot.file === 'sockd.conf') return world.serverConfig(name);
  if (slot.file === 'socks.conf') return world.clientConfig(name);
  return world.routeConfig(name);
}

function slotsOf(topology: ResolvedTopology, configs: ReadonlyMap<string, ParsedHostConfigs>): Slot[] {
  const slots: Slot[] = [];
  for (const host of topology.hosts) {
    const parsed = configs.get(host.name) ?? {};
    const add = (
      file: CoveredFile,
      usedBy: FileUser,
      text: ConfigText | undefined,
      config: Slot['config'] | undefined,
    ) => {
      if (text && config)
        slots.push({ host, file, usedBy, text, config, reached: new Map(), decided: new Map() });
    };
    add('sockd.conf', 'server', host.server?.sockdConf, parsed.server);
    add('socks.conf', 'server', host.server?.socksConf, parsed.client);
    add('sockd.route', 'server', host.server?.sockdRoute, parsed.route);
    add('socks.conf', 'probe', host.clientSocksConf, parsed.probeClient);
  }
  return slots;
}

function push(map: Map<number, string[]>, line: number, name: string): void {
  const list = map.get(line);
  if (list) {
    if (list[list.length - 1] !== name) list.push(name);
  } else map.set(line, [name]);
}

/** The totals of a file's lines (also what a merged report recounts from merged lines). */
export function totalsOf(lines: readonly CoveredLine[]): CoverageTotals {
  const rules = lines.filter((l) => l.rule);
  const reached = rules.filter((l) => l.reached.length > 0).length;
  return {
    rules: rules.length,
    reached,
    decided: rules.filter((l) => l.decided.length > 0).length,
    never: rules.length - reached,
  };
}

/** Totals of several files or hosts added together (a host's from its files, the suite's from its hosts). */
export function sumTotals(all: readonly CoverageTotals[]): CoverageTotals {
  return all.reduce(
    (a, t) => ({
      rules: a.rules + t.rules,
      reached: a.reached + t.reached,
      decided: a.decided + t.decided,
      never: a.never + t.never,
    }),
    { rules: 0, reached: 0, decided: 0, never: 0 },
  );
}

function originOf(text: ConfigText, topologyFile: string): string {
  const o = text.origin;
  return o.inline ? `${topologyFile}:${o.line}` : o.file;
}

/**
 * Coverage of the topology's configs by these cases, in order. The configs in force follow the
 * cases' steps and clean-ups as LabWorld does for a prediction; a decision made under a replaced
 * text is listed in `uncounted` instead of being counted against the topology's line of that number.
 * `topologyFile` names the topology in `origin` (a relative path keeps reports portable).
 */
export function ruleCoverage(
  topology: ResolvedTopology,
  configs: ReadonlyMap<string, ParsedHostConfigs>,
  cases: readonly CoveredCase[],
  basis: RuleCoverage['basis'],
  topologyFile: string = topology.file,
): RuleCoverage {
  const slots = slotsOf(topology, configs);
  const byKey = new Map(slots.map((s) => [slotKey(s.host.name, s.file, s.usedBy), s]));
  const world = new LabWorld(topology, configs);
  const uncounted: RuleCoverage['uncounted'][number][] = [];
  // Configs a case replaced go back after it unless it says `keep` (config-undo.ts), as in the lab
  // and in `check`: without that, every later case would count as decided under a replaced text.
  const inPlace = new ConfigsInPlace(topology);
  for (const { case: c, trace } of cases) {
    const undo = inPlace.undoFor(c);
    for (const s of c.steps) {
      world.apply(s);
      inPlace.follow(s);
    }
    for (const hit of traceHits(trace)) {
      const slot = byKey.get(slotKey(hit.host, hit.file, hit.usedBy));
      if (!slot || !sameRules(inForce(world, slot), slot.config)) {
        uncounted.push({ case: c.name, host: hit.host, file: hit.file, line: hit.line });
        continue;
      }
      const compared = linesCompared(ruleLines(slot.config), hit.line);
      if (compared.length === 0) {
        uncounted.push({ case: c.name, host: hit.host, file: hit.file, line: hit.line });
        continue;
      }
      for (const l of compared) push(slot.reached, l.line, c.name);
      if (hit.line !== null) push(slot.decided, hit.line, c.name);
    }
    for (const s of [...c.cleanup, ...undo]) {
      world.apply(s);
      inPlace.follow(s);
    }
  }

  const files: FileCoverage[] = slots.map((slot) => {
    const rules = new Set(ruleLines(slot.config).map((r) => r.line));
    const text = slot.text.text.replace(/\n$/, '');
    const lines: CoveredLine[] = text.split('\n').map((t, i) => ({
      line: i + 1,
      text: t.replace(/\r$/, ''),
      rule: rules.has(i + 1),
      reached: slot.reached.get(i + 1) ?? [],
      decided: slot.decided.get(i + 1) ?? [],
    }));
    return {
      host: slot.host.name,
      file: slot.file,
      usedBy: slot.usedBy,
      origin: originOf(slot.text, topologyFile),
      lines,
      totals: totalsOf(lines),
    };
  });
  const hosts: HostCoverage[] = topology.hosts
    .map((h) => {
      const mine = files.filter((f) => f.host === h.name);
      return { host: h.name, files: mine, totals: sumTotals(mine.map((f) => f.totals)) };
    })
    .filter((h) => h.files.length > 0);
  const never = files.flatMap((f) =>
    f.lines
      .filter((l) => l.rule && l.reached.length === 0)
      .map((l) => ({ host: f.host, file: f.file, usedBy: f.usedBy, line: l.line, text: l.text })),
  );
  return {
    basis,
    cases: cases.length,
    hosts,
    never,
    totals: sumTotals(hosts.map((h) => h.totals)),
    uncounted,
  };
}

/**
 * The sockd.route choice a predicted BIND makes at its last hop, which the prediction itself does
 * not carry: chooseInterface, as the server calls it, with the destination that hop sees.
 * Only for a last hop that permitted the BIND and would listen itself (no upstream) in multi-homed
 * mode. `world` must be in the state the case was predicted in.
 */
export async function predictedBindInterface(
  _world: LabWorld,
  c: ScenarioCase,
  p: Prediction,
): Promise<TraceHop['iface'] | undefined> {
  const last = p.hops[p.hops.length - 1];
  if (c.request.command !== 'bind' || !last || last.decision.action !== 'permit') return undefined;
  // The prediction's last hop carries the choice (predict.ts bindDirect), made with the
  // destination that hop saw through its own name service.
  return last.iface;
}
