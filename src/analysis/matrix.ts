import { parseDottedQuad } from '../common/inet-address.ts';
import { Socks4Code, Socks5Rep } from '../policy/failure-reply.ts';
import {
  type ClassOptions,
  type ClassProtocol,
  type ClassSpace,
  type RequestClass,
  requestClasses,
} from './classes.ts';
import {
  type PredictedAttempt,
  type PredictedIdentd,
  type Prediction,
  predictRequest,
  type RouteAction,
} from './predict.ts';
import type { LabWorld } from './world.ts';

/**
 * `sockslab matrix` (issue 14, item 2): every request class of a topology evaluated by
 * predictRequest on its witness — the servers' own policy engine — with its verdict, path, the
 * deciding line of every hop, identd attribution per hop, and the route with its failover.
 */

/** What became of a class's requests, coarse enough to colour a cell. */
export const Verdicts = {
  /** Granted (90 / SOCKS 5 0x00) and the destination reached. */
  granted: 'granted',
  /** A hop refused by a sockd.conf line (or no line), or an rsockd's socks.conf said deny. */
  refused: 'refused',
  /** A hop refused because identd disagreed with the USERID or could not be asked (92/93). */
  identd: 'identd',
  /** Permitted, but a connection failed: no upstream reachable, no route, nothing listening, unresolved. */
  unreachable: 'unreachable',
  /** The origin's own socks.conf denied it: no request was sent. */
  'client-deny': 'client-deny',
  /** The origin's own socks.conf routes it direct (no SOCKS server involved). */
  direct: 'direct',
  /** No reply: the first hop could not be reached or does not speak the protocol. */
  'no-reply': 'no-reply',
} as const;
export type Verdict = keyof typeof Verdicts;

export interface MatrixHop {
  readonly host: string;
  readonly from: string;
  /** The USERID the hop saw. */
  readonly user: string;
  readonly action: 'permit' | 'deny';
  /** `sockd.conf:2`, or null for "no line matches" (implicit deny) and an unusable file. */
  readonly line: string | null;
  readonly reason: string;
  readonly identd?: PredictedIdentd;
  readonly route?: {
    readonly action: RouteAction;
    /** `socks.conf:4`, as `line` above. */
    readonly line: string | null;
    readonly attempts: readonly PredictedAttempt[];
  };
  readonly reply: number | null;
}

export interface MatrixRow {
  readonly id: string;
  /** The witness origin host. */
  readonly origin: string;
  /** Every origin host the class stands for (hosts alike to the witness). */
  readonly origins: readonly string[];
  readonly protocol: ClassProtocol;
  readonly user: {
    readonly id: string;
    readonly kind: 'honest' | 'forged' | 'socks5';
    readonly label: string;
    readonly owner: string;
    readonly claim?: string;
  };
  readonly destination: {
    readonly id: string;
    readonly kind: 'address' | 'name';
    readonly label: string;
    readonly witness: string;
    readonly live: boolean;
    readonly hosts: readonly string[];
  };
  readonly port: {
    readonly id: string;
    readonly label: string;
    readonly witness: number;
    /** A host of the destination listens on this port (a service). */
    readonly listening: boolean;
  };
  readonly verdict: Verdict;
  /** What the origin gets (SOCKS 5 codes for socks5); null = no reply. */
  readonly reply: number | null;
  readonly path: readonly string[];
  readonly reached: boolean;
  /** The origin's socks.conf decision (`socks.conf:1 sockd`). */
  readonly clientRoute: string | null;
  readonly hops: readonly MatrixHop[];
  /** Some upstream attempt failed before one answered (d.7 failover). */
  readonly failover: boolean;
}

export interface MatrixFilter {
  /** Origin host names. */
  readonly from?: readonly string[];
  /** A user name: honest/SOCKS 5 classes of that owner, forged classes claiming it. */
  readonly user?: string;
  /** A host name, an address or a DNS-style name: the destination atoms holding it. */
  readonly to?: string;
  readonly port?: number;
}

export interface Matrix {
  readonly topology: string;
  /** Classes of the whole space (before filters). */
  readonly classes: number;
  readonly rows: readonly MatrixRow[];
  readonly filter: MatrixFilter;
  readonly notes: readonly string[];
  readonly atoms: {
    readonly origins: number;
    readonly addresses: number;
    readonly names: number;
    readonly users: number;
  };
}

/**
 * What a prediction decides, without the names that vary inside a class (the origin host among
 * alike origins, the destination host at the end of the path, the USERID text and identd's
 * answer): equal keys = same answer from every line of every hop. The property tests compare
 * classes by it; diffs can too.
 */
export function outcomeKey(p: Prediction): string {
  const origin = p.path[0];
  const name = (n: string) => (n === origin ? '(origin)' : n);
  const path = (p.reached ? p.path.slice(0, -1) : p.path).map(name);
  return JSON.stringify([
    p.reply,
    p.secondReply ?? null,
    p.reached,
    path,
    p.clientRoute ?? null,
    p.hops.map((h) => [
      h.host,
      name(h.from),
      h.decision.action,
      h.decision.file,
      h.decision.line,
      h.decision.reason,
      h.identd ? [name(h.identd.queried), h.identd.verdict] : null,
      h.route
        ? [h.route.action, h.route.file, h.route.line, h.route.attempts.map((a) => [a.server, a.host, a.ok])]
        : null,
      h.reply,
    ]),
  ]);
}

const cite = (file: string | null, line: number | null) => (file && line !== null ? `${file}:${line}` : null);

export function verdictOf(p: Prediction): Verdict {
  if (p.clientRoute?.action === 'deny') return 'client-deny';
  if (p.clientRoute?.action === 'direct') return 'direct';
  if (p.reply === null) return 'no-reply';
  if ((p.reply === Socks4Code.Granted || p.reply === Socks5Rep.Succeeded) && p.reached) return 'granted';
  const failing =
    p.hops.find((h) => h.reply !== Socks4Code.Granted && h.decision.action === 'deny') ?? p.hops.at(-1);
  if (!failing) return 'no-reply';
  if (failing.decision.reason.startsWith('identd')) return 'identd';
  if (failing.decision.action === 'deny' || failing.route?.action === 'deny') return 'refused';
  return 'unreachable';
}

function rowOf(c: RequestClass, origins: readonly string[], p: Prediction): MatrixRow {
  const hops: MatrixHop[] = p.hops.map((h) => ({
    host: h.host,
    from: h.from,
    user: h.user,
    action: h.decision.action,
    line: cite(h.decision.file, h.decision.line),
    reason: h.decision.reason,
    ...(h.identd ? { identd: h.identd } : {}),
    ...(h.route
      ? {
          route: {
            action: h.route.action,
            line: cite(h.route.file, h.route.line),
            attempts: h.route.attempts,
          },
        }
      : {}),
    reply: h.reply,
  }));
  return {
    id: c.id,
    origin: c.origin,
    origins,
    protocol: c.protocol,
    user: {
      id: c.user.id,
      kind: c.user.kind,
      label: c.user.label,
      owner: c.user.owner,
      ...(c.user.claim !== undefined ? { claim: c.user.claim } : {}),
    },
    destination: {
      id: c.destination.id,
      kind: c.destination.kind,
      label: c.destination.label,
      witness: c.destination.witness,
      live: c.destination.live,
      hosts: c.destination.hosts,
    },
    port: { id: c.port.id, label: c.port.label, witness: c.port.witness, listening: c.port.listening },
    verdict: verdictOf(p),
    reply: p.reply,
    path: p.path,
    reached: p.reached,
    clientRoute: p.clientRoute
      ? `${p.clientRoute.line !== null ? `socks.conf:${p.clientRoute.line} ` : ''}${p.clientRoute.action}`
      : null,
    hops,
    failover: hops.some((h) => h.route?.attempts.some((a) => !a.ok) === true),
  };
}

/** Does a class pass the filter? Filters pick whole atoms, so the rows stay exact classes. */
function selects(
  space: ClassSpace,
  world: LabWorld,
  filter: MatrixFilter,
  members: ReadonlyMap<string, readonly string[]>,
): (c: RequestClass) => boolean {
  const to = filter.to !== undefined ? destinationIds(space, world, filter.to) : undefined;
  const user = filter.user;
  const listed = user !== undefined && space.users.includes(user);
  return (c) => {
    if (filter.from && !(members.get(c.origin) ?? []).some((m) => filter.from!.includes(m))) return false;
    if (to && !to.has(c.destination.id)) return false;
    if (
      filter.port !== undefined &&
      !c.port.intervals.some(([lo, hi]) => lo <= filter.port! && filter.port! <= hi)
    )
      return false;
    if (user !== undefined) {
      const u = c.user;
      if (u.kind === 'forged') return u.claims.includes(user) || (!listed && u.claims.includes('*'));
      return u.owners.includes(user);
    }
    return true;
  };
}

/** The destination atoms a `--to` names: a host (its addresses and its name), an address, a name. */
function destinationIds(space: ClassSpace, world: LabWorld, to: string): Set<string> {
  const host = world.host(to);
  if (host)
    return new Set(
      [...space.addresses, ...space.names].filter((a) => a.hosts.includes(host.name)).map((a) => a.id),
    );
  const atom = parseDottedQuad(to) !== undefined ? space.addressAtomOf(to) : space.nameAtomOf(to);
  return new Set(atom ? [atom.id] : []);
}

export interface MatrixOptions extends ClassOptions {
  readonly filter?: MatrixFilter;
}

/** Builds the class space of the world and evaluates every (selected) class's witness. */
export async function buildMatrix(world: LabWorld, options: MatrixOptions = {}): Promise<Matrix> {
  const filter = options.filter ?? {};
  // Named origins are enumerated even when they are no client, each as its own witness.
  const origins = options.origins ?? filter.from;
  const space = requestClasses(world, origins ? { origins } : {});
  return evaluateSpace(space, world, filter);
}

export async function evaluateSpace(
  space: ClassSpace,
  world: LabWorld,
  filter: MatrixFilter = {},
): Promise<Matrix> {
  const members = new Map(space.origins.map((o) => [o.origin, o.members]));
  const keep = selects(space, world, filter, members);
  const rows: MatrixRow[] = [];
  for (const c of space.classes()) {
    if (!keep(c)) continue;
    rows.push(rowOf(c, members.get(c.origin) ?? [c.origin], await predictRequest(world, c.witness)));
  }
  return {
    topology: space.topology,
    classes: space.count,
    rows,
    filter,
    notes: space.notes,
    atoms: {
      origins: space.origins.length,
      addresses: space.addresses.length,
      names: space.names.length,
      users: space.users.length,
    },
  };
}
