import type { ProbeRequest } from '../runtime/runtime.ts';
import { describeReply } from '../scenario/replies.ts';
import { type RequestClass, requestClasses } from './classes.ts';
import {
  type Design,
  type HostChanges,
  type HostMapping,
  hostsChanged,
  jointWorlds,
  matchHosts,
} from './design-hosts.ts';
import { outcomeKey, type Verdict, verdictOf } from './matrix.ts';
import { type PredictedHop, type Prediction, predictRequest } from './predict.ts';
import { LabWorld } from './world.ts';

/**
 * `sockslab diff` (issue 14, item 3): what changes between two versions of a design, class by
 * class. Classes of the before design are uniform under it and classes of the after design
 * under that one, but a change can hide in the intersection of two of them; so the class space
 * is the *joint* refinement — atoms cut by both designs' configs (requestClasses' `joint`) —
 * and each joint class's witness is predicted in both worlds. Two predictions are compared by
 * a key that leaves out what varies inside a class (outcomeKey, plus the users each hop saw and
 * identd named, written relative to the witness's owner and claim), and every difference is
 * reported concretely: verdict, reply, path, deciding line, identd attribution, route per hop.
 */

/** One design's answer for a class, in the before design's host names. */
export interface DiffSide {
  readonly verdict: Verdict;
  /** Human form: `90 (granted)`, `0x02 (not-allowed)`, `none`. */
  readonly reply: string;
  readonly path: readonly string[];
  readonly clientRoute: string | null;
  readonly hops: readonly DiffHop[];
  /** The prediction's reasoning, one line per decision: the static trace. */
  readonly trace: readonly string[];
}

export interface DiffHop {
  readonly host: string;
  /** `sockd.conf:2 permit`, `(no line) deny`. */
  readonly decision: string;
  readonly reason: string;
  /** The USERID the hop received. */
  readonly user: string;
  /** `C says x (confirmed)`, `none`. */
  readonly identd: string;
  /** `socks.conf:3 sockd → A`, `socks.conf:1 direct`, or null (sockd, no routing step). */
  readonly route: string | null;
}

export interface ClassChange {
  readonly id: string;
  readonly origin: string;
  readonly protocol: string;
  readonly user: string;
  readonly destination: string;
  readonly port: string;
  /** The witness request, in the before design's names. */
  readonly witness: ProbeRequest;
  /** The same request in the after design's names (renamed hosts). */
  readonly witnessAfter: ProbeRequest;
  readonly before: DiffSide;
  readonly after: DiffSide;
  /** Concrete differences, one line each: `verdict: granted → refused`, `A: sockd.conf:2 permit → sockd.conf:4 deny`. */
  readonly differences: readonly string[];
  /** Set by `--confirm`: the witness replayed live on both designs. */
  readonly confirmation?: Confirmation;
}

/** A change replayed live: each design's run against its prediction. */
export interface Confirmation {
  readonly runtime: string;
  /** Both runs did what the predictions say, so the change is real. */
  readonly confirmed: boolean;
  readonly before: ObservedSide;
  readonly after: ObservedSide;
}

export interface ObservedSide {
  readonly reply: string;
  readonly path: readonly string[];
  /** Where the run differed from the prediction (empty = agreed). */
  readonly differences: readonly string[];
}

export interface DesignDiff {
  readonly before: string;
  readonly after: string;
  readonly hosts: HostChanges;
  /** Classes of the joint space. */
  readonly classes: number;
  /** Classes both designs have the hosts of, predicted in both and compared. */
  readonly compared: number;
  /** Classes involving a host only one design has (not compared). */
  readonly notShared: number;
  readonly changes: readonly ClassChange[];
  readonly notes: readonly string[];
}

const cite = (file: string | null, line: number | null) =>
  file && line !== null ? `${file}:${line}` : '(no line)';

function hopOf(h: PredictedHop): DiffHop {
  const route = h.route
    ? `${cite(h.route.file, h.route.line)} ${h.route.action}${
        h.route.action === 'sockd'
          ? ` → ${
              h.route.attempts
                .map(
                  (a) =>
                    `${a.server}${a.host && a.host !== a.server ? ` (${a.host})` : ''}${a.ok ? '' : ' failed'}`,
                )
                .join(', ') || 'none'
            }`
          : ''
      }`
    : null;
  return {
    host: h.host,
    decision: `${cite(h.decision.file, h.decision.line)} ${h.decision.action}`,
    reason: h.decision.reason,
    user: h.user,
    identd: h.identd
      ? `${h.identd.queried} says ${h.identd.user ?? 'nothing'} (${h.identd.verdict})`
      : 'none',
    route,
  };
}

function sideOf(p: Prediction, protocol: ProbeRequest['protocol']): DiffSide {
  return {
    verdict: verdictOf(p),
    reply: describeReply(p.reply, protocol),
    path: p.path,
    clientRoute: p.clientRoute
      ? `${p.clientRoute.line !== null ? `socks.conf:${p.clientRoute.line} ` : ''}${p.clientRoute.action}`
      : null,
    hops: p.hops.map(hopOf),
    trace: p.reasoning,
  };
}

/**
 * Equal keys = the same answer from every line of every hop for the whole class: outcomeKey,
 * plus each hop's USERID and identd answer, written as `<owner>`/`<claim>` when they are the
 * witness's own (those vary inside a class; a lying identd's fixed answer does not).
 */
export function diffKey(p: Prediction, w: ProbeRequest): string {
  const rel = (u: string | null | undefined) =>
    u === undefined || u === null ? null : u === w.user ? '<owner>' : u === w.claim ? '<claim>' : u;
  return JSON.stringify([outcomeKey(p), p.hops.map((h) => [rel(h.user), rel(h.identd?.user)])]);
}

/** Host names of a prediction through `names` (after → before), so the two sides compare. */
function renamePrediction(p: Prediction, names: ReadonlyMap<string, string>): Prediction {
  const n = (x: string) => names.get(x) ?? x;
  return {
    ...p,
    path: p.path.map(n),
    hops: p.hops.map((h) => ({
      ...h,
      host: n(h.host),
      from: n(h.from),
      ...(h.identd ? { identd: { ...h.identd, queried: n(h.identd.queried) } } : {}),
      ...(h.route
        ? {
            route: {
              ...h.route,
              attempts: h.route.attempts.map((a) => ({ ...a, ...(a.host ? { host: n(a.host) } : {}) })),
            },
          }
        : {}),
    })),
  };
}

/** The concrete differences between two sides, one line each. */
export function describeDifferences(a: DiffSide, b: DiffSide): string[] {
  const out: string[] = [];
  if (a.verdict !== b.verdict) out.push(`verdict: ${a.verdict} → ${b.verdict}`);
  if (a.reply !== b.reply) out.push(`reply: ${a.reply} → ${b.reply}`);
  if (a.path.join(' ') !== b.path.join(' ')) out.push(`path: ${a.path.join(' → ')} ⇒ ${b.path.join(' → ')}`);
  if (a.clientRoute !== b.clientRoute)
    out.push(`${a.path[0] ?? 'origin'} socks.conf: ${a.clientRoute ?? 'none'} → ${b.clientRoute ?? 'none'}`);
  const hosts = [...new Set([...a.hops.map((h) => h.host), ...b.hops.map((h) => h.host)])];
  for (const host of hosts) {
    const x = a.hops.find((h) => h.host === host);
    const y = b.hops.find((h) => h.host === host);
    if (!x || !y) {
      out.push(`${host}: ${x ? x.decision : 'not reached'} → ${y ? y.decision : 'not reached'}`);
      continue;
    }
    if (x.decision !== y.decision || x.reason !== y.reason)
      out.push(
        `${host}: ${x.decision}${x.reason !== 'rule' ? ` (${x.reason})` : ''} → ${y.decision}${y.reason !== 'rule' ? ` (${y.reason})` : ''}`,
      );
    if (x.user !== y.user) out.push(`${host} USERID: ${x.user} → ${y.user}`);
    if (x.identd !== y.identd) out.push(`${host} identd: ${x.identd} → ${y.identd}`);
    if (x.route !== y.route) out.push(`${host} route: ${x.route ?? 'none'} → ${y.route ?? 'none'}`);
  }
  // Same readable fields but different keys (e.g. a failover attempt's reason): say so plainly.
  if (out.length === 0) out.push('the decisions differ in detail: see the traces');
  return out;
}

function mapRequest(w: ProbeRequest, names: ReadonlyMap<string, string>): ProbeRequest {
  const n = (x: string) => names.get(x) ?? x;
  return { ...w, from: n(w.from), target: { ...w.target, host: n(w.target.host) } };
}

export interface DiffOptions {
  /** Only these origins (before names). */
  readonly origins?: readonly string[];
  /** Predict every class in the after design too, even where the shortcut says it cannot differ (tests). */
  readonly exhaustive?: boolean;
}

/**
 * Hosts whose model differs between the designs (configs, user files, addresses, services,
 * state), when both have the same hosts and networks; undefined otherwise. A prediction reads
 * only the models and configs of the hosts it touches, so a class whose before prediction
 * touches none of these has the same prediction after: no need to predict it twice.
 */
function changedHosts(before: Design, after: Design, m: HostMapping): Set<string> | undefined {
  if (hostsChanged(m)) return undefined;
  if (JSON.stringify(before.topology.networks) !== JSON.stringify(after.topology.networks)) return undefined;
  // Where a text came from (file, line) does not change what it says.
  const model = (h: unknown) =>
    JSON.stringify(h, (k, v) => (k === 'origin' || k === 'description' ? undefined : v));
  const changed = new Set<string>();
  for (const h of before.topology.hosts) {
    const a = after.topology.hosts.find((x) => x.name === h.name);
    if (!a || model(h) !== model(a)) changed.add(h.name);
  }
  return changed;
}

/**
 * Every host a prediction touched: the origin and the hosts its socks.conf may try first, each
 * hop and the client it served, every upstream attempted, and the destination's owner.
 */
function touched(
  world: LabWorld,
  w: ProbeRequest,
  p: Prediction,
  firstHops: ReadonlySet<string>,
): Set<string> {
  const hosts = new Set<string>([w.from, ...firstHops, ...p.path]);
  for (const h of p.hops) {
    hosts.add(h.host);
    hosts.add(h.from);
    if (h.identd) hosts.add(h.identd.queried);
    for (const a of h.route?.attempts ?? []) if (a.host) hosts.add(a.host);
  }
  const dst = world.host(w.target.host) ?? world.owner(w.target.host)?.host;
  if (dst) hosts.add(dst.name);
  return hosts;
}

/** Hosts any server list of an origin's own socks.conf names (the probe may try each). */
function listedServers(world: LabWorld, origin: string): Set<string> {
  const out = new Set<string>();
  for (const r of world.probeConfig(origin)?.rules ?? [])
    for (const e of r.servers?.entries ?? []) {
      const h = world.host(e) ?? world.owner(e)?.host;
      if (h) out.add(h.name);
      else out.add('*'); // a name the shortcut cannot follow: never skip
    }
  return out;
}

/** Every class whose outcome differs between the two designs (see the module comment). */
export async function diffDesigns(
  before: Design,
  after: Design,
  options: DiffOptions = {},
): Promise<DesignDiff> {
  const mapping: HostMapping = matchHosts(before.topology, after.topology);
  const { primary, joint } = jointWorlds(before, after, mapping);
  const worldBefore = new LabWorld(before.topology, before.configs);
  const worldAfter = new LabWorld(after.topology, after.configs);
  const space = requestClasses(primary, { joint, ...(options.origins ? { origins: options.origins } : {}) });
  const shared = (host: string) => mapping.toAfter.has(host);
  const changed = options.exhaustive ? undefined : changedHosts(before, after, mapping);
  const identity = [...mapping.toAfter].every(([a, b]) => a === b);
  const firstHops = new Map<string, Set<string>>();
  const changes: ClassChange[] = [];
  let compared = 0;
  let notShared = 0;
  for (const c of space.classes()) {
    if (!isShared(c, shared)) {
      notShared++;
      continue;
    }
    compared++;
    const w = c.witness;
    const wAfter = mapRequest(w, mapping.toAfter);
    const pa = await predictRequest(worldBefore, w);
    if (changed) {
      let first = firstHops.get(w.from);
      if (!first) firstHops.set(w.from, (first = listedServers(worldBefore, w.from)));
      if (!first.has('*') && ![...touched(worldBefore, w, pa, first)].some((h) => changed.has(h))) continue;
    }
    const predicted = await predictRequest(worldAfter, wAfter);
    const pb = identity ? predicted : renamePrediction(predicted, mapping.toBefore);
    if (diffKey(pa, w) === diffKey(pb, w)) continue;
    const a = sideOf(pa, w.protocol);
    const b = sideOf(pb, w.protocol);
    changes.push({
      id: c.id,
      origin: c.origin,
      protocol: c.protocol,
      user: c.user.label,
      destination: c.destination.label,
      port: c.port.label,
      witness: w,
      witnessAfter: wAfter,
      before: a,
      after: b,
      differences: describeDifferences(a, b),
    });
  }
  return {
    before: before.label,
    after: after.label,
    hosts: {
      added: mapping.added,
      removed: mapping.removed,
      renamed: mapping.renamed,
      networksAdded: mapping.networksAdded,
      networksRemoved: mapping.networksRemoved,
    },
    classes: space.count,
    compared,
    notShared,
    changes,
    notes: space.notes,
  };
}

/** Both designs have every host the class involves: its origin and its destination's hosts. */
function isShared(c: RequestClass, shared: (host: string) => boolean): boolean {
  return shared(c.origin) && c.destination.hosts.every(shared);
}
