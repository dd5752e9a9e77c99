import type { Endpoint, LabEvent } from '../common/events.ts';
import { isServer, serverSessions, sessionKey } from '../common/server-sessions.ts';
import type { ProbeOutcome, ProbeRequest } from '../runtime/runtime.ts';
import type { ResolvedTopology } from '../topology/model.ts';
import { type HopReceipt, hopDestinations } from './destinations.ts';
import type { Trace, TraceHop } from './trace.ts';

/**
 * Trace stitching: one request's hops from the structured events of every server, identd and
 * echo service. A hop is one server session; the next hop is the session whose client address
 * is this hop's outbound local address; identd events belong to the session that asked; the
 * destination is the echo service that saw the last hop's outbound address as its peer.
 */

export interface ProbeInfo {
  readonly request: ProbeRequest;
  readonly outcome: ProbeOutcome;
}

type RequestEvent = Extract<LabEvent, { type: 'request' }>;
type Of<T extends LabEvent['type']> = Extract<LabEvent, { type: T }>;

/** How far another process's clock may lag behind when ordering hops by time. */
const ClockSlackMs = 50;

const sameEndpoint = (a: Endpoint | undefined, b: Endpoint | undefined): boolean =>
  !!a && !!b && a.address === b.address && a.port === b.port;

/** Topology address → host name (every interface of every host). */
export function addressBook(topology: ResolvedTopology): (address: string) => string | undefined {
  const map = new Map<string, string>();
  for (const h of topology.hosts) for (const i of h.interfaces) map.set(i.address, h.name);
  return (address) =>
    map.get(address) ?? (topology.hosts.some((h) => h.name === address) ? address : undefined);
}

/** What one probe's trace is stitched from. */
interface Stitching {
  readonly events: readonly LabEvent[];
  /** Every server session's events, by `sessionKey`. */
  readonly sessions: ReadonlyMap<string, readonly LabEvent[]>;
  /** Every server session's request, earliest first. */
  readonly requests: readonly RequestEvent[];
  readonly hostOf: (address: string) => string | undefined;
  /** The topology host of an address, else the address itself. */
  readonly name: (address: string) => string;
  readonly request: ProbeRequest;
  readonly outcome: ProbeOutcome;
}

/** The probe's hops in order, then where the request ended, then what each hop received. */
export function stitchTraces(
  events: readonly LabEvent[],
  topology: ResolvedTopology,
  probe: ProbeInfo,
): Trace {
  const hostOf = addressBook(topology);
  const s: Stitching = {
    events,
    sessions: serverSessions(events),
    requests: events
      .filter((e): e is RequestEvent => isServer(e) && e.type === 'request')
      .sort((a, b) => a.t - b.t),
    hostOf,
    name: (address) => hostOf(address) ?? address,
    request: probe.request,
    outcome: probe.outcome,
  };
  const chain = followHops(s);
  const destination = destinationOf(s, chain.at(-1)?.hop);
  const hops = withDestinations(s, chain);
  const { request, outcome } = s;
  const path = [request.from, ...hops.map((h) => h.host)];
  if (destination.reached) path.push(destination.host);
  return {
    origin: originOf(request),
    target: { host: request.target.host, port: request.target.port },
    protocol: request.protocol,
    command: request.command,
    hops,
    path,
    destination,
    reply: outcome.reply,
    ...(outcome.secondReply !== undefined ? { secondReply: outcome.secondReply } : {}),
    ...(outcome.clientRoute ? { clientRoute: outcome.clientRoute } : {}),
  };
}

/** A hop and its session's events (none for a session that closed before its request). */
interface ChainLink {
  readonly hop: TraceHop;
  readonly events: readonly LabEvent[];
}

/**
 * The hops from the probe onward: the first hop's request (or the session that closed on the
 * probe before any request), then each next session whose client is this hop's outbound socket.
 */
function followHops(s: Stitching): ChainLink[] {
  const { sessions, requests, outcome } = s;
  const served = s.events.filter((e): e is Of<'identd-served'> => e.type === 'identd-served');
  const chain: ChainLink[] = [];
  const used = new Set<RequestEvent>();
  let current = firstRequest(s);
  if (!current && outcome.local) {
    const closed = closedFirstHop(s);
    if (closed) chain.push({ hop: closed, events: [] });
  }
  let from = s.request.from;
  while (current && !used.has(current) && chain.length < 32) {
    used.add(current);
    const evs = sessions.get(sessionKey(current)) ?? [];
    const hop = buildHop(current, evs, from, s.name, served);
    chain.push({ hop, events: evs });
    from = hop.host;
    const out = hop.outbound;
    const outAt = evs.find((e) => e.type === 'outbound')?.t ?? 0;
    // Ephemeral ports get reused over a run: the next hop is the first session from that
    // address that began after the outbound connection (a little slack for clock skew).
    current = out
      ? requests.find((r) => !used.has(r) && sameEndpoint(r.client, out.local) && r.t >= outAt - ClockSlackMs)
      : undefined;
  }
  return chain;
}

/** The first hop's request: the probe's own socket is the one sure link; without it, a guess from the origin. */
function firstRequest(s: Stitching): RequestEvent | undefined {
  const { request, outcome, requests, hostOf } = s;
  if (outcome.local) return requests.find((r) => sameEndpoint(r.client, outcome.local));
  if (outcome.clientRoute && outcome.clientRoute.action !== 'sockd') return undefined;
  // No local endpoint reported: the earliest request from the origin host to the expected server.
  const viaHost = request.via?.split(':')[0];
  return requests.find(
    (r) =>
      hostOf(r.client.address) === request.from &&
      (viaHost === undefined || r.host === viaHost || hostOf(r.local.address) === viaHost),
  );
}

/**
 * The first server closed before reading a request (SOCKS 5 to a server without --socks5): its
 * `close` names the probe's socket, and that session is the hop, with what it logged.
 */
function closedFirstHop(s: Stitching): TraceHop | undefined {
  const local = s.outcome.local;
  const closed = s.events.find(
    (e): e is Of<'close'> => isServer(e) && e.type === 'close' && sameEndpoint(e.client, local),
  );
  if (!closed) return undefined;
  return closedHop(closed, s.sessions.get(sessionKey(closed)) ?? [], s.request.from, s.name);
}

/**
 * The destination: the echo service whose peer is the last outbound (or the origin itself when
 * its socks.conf went direct); failing that, the host the last outbound reached.
 */
function destinationOf(s: Stitching, last: TraceHop | undefined): NonNullable<Trace['destination']> {
  const { request, outcome, name } = s;
  const echoes = s.events.filter((e): e is Of<'echo'> => e.type === 'echo');
  const unreached = () => ({ host: name(request.target.host), reached: false });
  const echoed = (echo: Of<'echo'>) => ({
    host: echo.host ?? name(echo.local.address),
    reached: true,
    peer: echo.peer,
  });
  if (last) {
    const out = last.outbound;
    if (!out) return unreached();
    const echo =
      request.command === 'bind'
        ? echoes.find((e) => sameEndpoint(e.local, out.remote) || sameEndpoint(e.peer, out.remote))
        : echoes.find((e) => sameEndpoint(e.peer, out.local));
    return echo ? echoed(echo) : { host: out.to, reached: true };
  }
  if (outcome.local) {
    const echo = echoes.find((e) => sameEndpoint(e.peer, outcome.local));
    return echo ? echoed(echo) : unreached();
  }
  return unreached();
}

/** Per hop: the destination as received, and where its name was resolved (split DNS). */
function withDestinations(s: Stitching, chain: readonly ChainLink[]): TraceHop[] {
  const { request } = s;
  const destinations = hopDestinations(
    { host: request.from, target: request.target.host, protocol: request.protocol },
    chain.map((l) => receiptOf(l.hop, l.events)),
  );
  return chain.map((l, i) => {
    const d = destinations[i];
    return d && l.events.length > 0 ? { ...l.hop, destination: d } : l.hop;
  });
}

/**
 * The origin's user and the name it sent instead: a forged SOCKS 4 USERID (`claim`), or RFC 1929
 * credentials of another account (borrowed, or wrong: the hop's decision tells which).
 */
export function originOf(
  request: Pick<ProbeRequest, 'from' | 'user' | 'claim' | 'credentials'>,
): Trace['origin'] {
  const login = request.credentials?.username;
  return {
    host: request.from,
    user: request.user,
    ...(request.claim !== undefined
      ? { claim: request.claim }
      : login !== undefined && login !== request.user
        ? { claim: login, claimVia: 'rfc1929' as const }
        : {}),
  };
}

/** What a hop received as destination and what its name service answered (its `resolve` event). */
function receiptOf(hop: TraceHop, events: readonly LabEvent[]): HopReceipt {
  const req = events.find((e): e is RequestEvent => e.type === 'request');
  const resolved = events.find((e): e is Of<'resolve'> => e.type === 'resolve');
  if (req?.dst.name !== undefined)
    return { host: hop.host, name: req.dst.name, ...(resolved ? { resolved: resolved.addresses } : {}) };
  return { host: hop.host, ...(req ? { address: req.dst.host } : {}) };
}

/** A hop that ended before any request: no decision, no reply, only its logs and why it closed. */
function closedHop(
  closed: Of<'close'>,
  events: readonly LabEvent[],
  from: string,
  name: (address: string) => string,
): TraceHop {
  const client = closed.client!;
  const session = {
    host: closed.host ?? (closed.local ? name(closed.local.address) : client.address),
    service: closed.service === 'sockd' ? ('sockd' as const) : ('rsockd' as const),
    session: closed.session ?? '',
    client,
    from,
  };
  const logs = events.filter((e): e is Of<'log'> => e.type === 'log').map((l) => l.message);
  // Refused RFC 1929 credentials end the session before any request: its decision names them.
  const refused = events.find(
    (e): e is Of<'decision'> => e.type === 'decision' && e.reason === 'auth-failed',
  );
  if (refused) {
    return {
      ...session,
      user: refused.user,
      realUser: refused.realUser,
      decision: { action: 'deny', file: null, line: null, reason: 'auth-failed' },
      reply: null,
      replyVersion: 5,
      commands: [],
      logs,
    };
  }
  return {
    ...session,
    user: '',
    decision: { action: 'deny', file: null, line: null, reason: `closed-without-reply: ${closed.reason}` },
    reply: null,
    commands: [],
    logs,
  };
}

/** One server session as a hop: who asked, what it decided, whom it asked and where it went, what it answered. */
function buildHop(
  req: RequestEvent,
  events: readonly LabEvent[],
  from: string,
  name: (address: string) => string,
  served: readonly Of<'identd-served'>[],
): TraceHop {
  const of = <T extends LabEvent['type']>(type: T) => events.filter((e): e is Of<T> => e.type === type);
  const decision = of('decision').at(-1);
  const identd = of('identd').at(-1);
  const route = of('route').at(-1);
  const outbound = of('outbound').at(-1);
  const iface = of('interface').find((e) => e.purpose === 'bind');
  const reply = of('reply').find((r) => r.phase !== 'second');
  const second = of('reply').find((r) => r.phase === 'second');
  return {
    host: req.host ?? name(req.local.address),
    service: req.service === 'sockd' ? 'sockd' : 'rsockd',
    session: req.session ?? '',
    client: req.client,
    from: name(req.client.address) === req.client.address ? from : name(req.client.address),
    user: req.user,
    ...(decision ? { realUser: decision.realUser } : {}),
    decision: hopDecision(decision),
    ...(identd ? { identd: hopIdentd(req, identd, served, name) } : {}),
    ...(route ? { route: hopRoute(route, of('upstream-attempt'), name) } : {}),
    ...(outbound
      ? { outbound: { local: outbound.local, remote: outbound.remote, to: name(outbound.remote.address) } }
      : {}),
    ...(iface ? { iface: hopInterface(iface) } : {}),
    reply: reply?.code ?? null,
    ...(reply ? { replyVersion: reply.version } : {}),
    ...(req.command === 'bind' && reply?.phase === 'first' && reply.bound ? { bound: reply.bound } : {}),
    ...(req.command === 'bind' ? { secondReply: second?.code ?? null } : {}),
    commands: of('command').map((c) => c.command),
    logs: of('log').map((l) => l.message),
  };
}

/** The hop's last access decision and the line it cites (none logged: a deny without a line). */
function hopDecision(decision: Of<'decision'> | undefined): TraceHop['decision'] {
  if (!decision) return { action: 'deny', file: null, line: null, reason: 'no-decision' };
  return {
    action: decision.action,
    file: decision.rule?.file ?? null,
    line: decision.rule?.line ?? null,
    reason: decision.reason,
  };
}

/** The hop's identd query, with how the fake identd it asked was behaving. */
function hopIdentd(
  req: RequestEvent,
  identd: Of<'identd'>,
  served: readonly Of<'identd-served'>[],
  name: (address: string) => string,
): NonNullable<TraceHop['identd']> {
  // The fake identd on the queried host logs the query it served: `<client port> , <server port>`.
  const answered = served.find(
    (s) =>
      s.peer.address === req.local.address &&
      s.query.replace(/\s+/g, '') === `${req.client.port},${req.local.port}`,
  );
  return {
    queried: name(identd.queried.address),
    answer: identd.answer,
    user: identd.user ?? null,
    verdict: identd.verdict,
    ...(answered ? { behaviour: answered.behaviour } : {}),
  };
}

/** An rsockd hop's socks.conf decision and every upstream server it tried. */
function hopRoute(
  route: Of<'route'>,
  attempts: readonly Of<'upstream-attempt'>[],
  name: (address: string) => string,
): NonNullable<TraceHop['route']> {
  return {
    action: route.action,
    file: route.rule?.file ?? null,
    line: route.rule?.line ?? null,
    servers: route.servers,
    attempts: attempts.map((a) => {
      const h = a.address !== null ? name(a.address) : undefined;
      return {
        server: a.server,
        ok: a.ok,
        ...(a.error !== undefined ? { error: a.error } : {}),
        ...(h !== undefined && h !== a.address ? { host: h } : {}),
        ...(a.address !== null ? { address: a.address, port: a.port } : {}),
      };
    }),
  };
}

/** The interface a multi-homed hop chose by sockd.route, and the line that chose it. */
function hopInterface(iface: Of<'interface'>): NonNullable<TraceHop['iface']> {
  return {
    address: iface.iface,
    file: iface.rule?.file ?? null,
    line: iface.rule?.line ?? null,
    ...(iface.text !== undefined ? { text: iface.text } : {}),
  };
}
