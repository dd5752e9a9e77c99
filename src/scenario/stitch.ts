import type { Endpoint, LabEvent } from '../common/events.ts';
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

/** Events of a SOCKS server hop (not probe, identd or echo). */
export const isServer = (e: LabEvent): boolean => e.service === 'rsockd' || e.service === 'sockd';
/** One server session: host, service and the server's own session id. */
export const sessionKey = (e: LabEvent): string => `${e.host ?? ''}|${e.service}|${e.session ?? ''}`;

export function stitchTraces(
  events: readonly LabEvent[],
  topology: ResolvedTopology,
  probe: ProbeInfo,
): Trace {
  const hostOf = addressBook(topology);
  const name = (address: string) => hostOf(address) ?? address;
  const sessions = new Map<string, LabEvent[]>();
  const requests: RequestEvent[] = [];
  for (const e of events) {
    if (!isServer(e)) continue;
    const key = sessionKey(e);
    let list = sessions.get(key);
    if (!list) sessions.set(key, (list = []));
    list.push(e);
    if (e.type === 'request') requests.push(e);
  }
  requests.sort((a, b) => a.t - b.t);
  const served = events.filter((e): e is Of<'identd-served'> => e.type === 'identd-served');
  const echoes = events.filter((e): e is Of<'echo'> => e.type === 'echo');
  const { request, outcome } = probe;

  const firstHop = (): RequestEvent | undefined => {
    // The probe's own socket is the one sure link; without it, guess from the origin host.
    if (outcome.local) return requests.find((r) => sameEndpoint(r.client, outcome.local));
    if (outcome.clientRoute && outcome.clientRoute.action !== 'sockd') return undefined;
    // No local endpoint reported: the earliest request from the origin host to the expected server.
    const viaHost = request.via?.split(':')[0];
    return requests.find(
      (r) =>
        hostOf(r.client.address) === request.from &&
        (viaHost === undefined || r.host === viaHost || hostOf(r.local.address) === viaHost),
    );
  };

  const hops: TraceHop[] = [];
  /** Each hop's session events, in hop order. */
  const hopEvents: (readonly LabEvent[])[] = [];
  const used = new Set<RequestEvent>();
  let current = firstHop();
  // The first server closed before reading a request (SOCKS 5 to a server without --socks5):
  // its `close` names the probe's socket, and that session is the hop, with what it logged.
  if (!current && outcome.local) {
    const closed = events.find(
      (e): e is Of<'close'> => isServer(e) && e.type === 'close' && sameEndpoint(e.client, outcome.local),
    );
    if (closed) {
      const evs = sessions.get(sessionKey(closed)) ?? [];
      hops.push(closedHop(closed, evs, request.from, name));
      hopEvents.push([]);
    }
  }
  let from = request.from;
  while (current && !used.has(current) && hops.length < 32) {
    used.add(current);
    const evs = sessions.get(sessionKey(current)) ?? [];
    const hop = buildHop(current, evs, from, name, served);
    hops.push(hop);
    hopEvents.push(evs);
    from = hop.host;
    const out = hop.outbound;
    const outAt = (sessions.get(sessionKey(current)) ?? []).find((e) => e.type === 'outbound')?.t ?? 0;
    // Ephemeral ports get reused over a run: the next hop is the first session from that
    // address that began after the outbound connection (a little slack for clock skew).
    current = out
      ? requests.find((r) => !used.has(r) && sameEndpoint(r.client, out.local) && r.t >= outAt - ClockSlackMs)
      : undefined;
  }

  // The destination: the echo service whose peer is the last outbound (or the origin itself
  // when its socks.conf went direct); failing that, the host the last outbound reached.
  const last = hops[hops.length - 1];
  let destination: Trace['destination'];
  if (last) {
    const out = last.outbound;
    if (out) {
      const echo =
        request.command === 'bind'
          ? echoes.find((e) => sameEndpoint(e.local, out.remote) || sameEndpoint(e.peer, out.remote))
          : echoes.find((e) => sameEndpoint(e.peer, out.local));
      destination = echo
        ? { host: echo.host ?? name(echo.local.address), reached: true, peer: echo.peer }
        : { host: out.to, reached: true };
    } else {
      destination = { host: name(request.target.host), reached: false };
    }
  } else if (outcome.local) {
    const echo = echoes.find((e) => sameEndpoint(e.peer, outcome.local));
    destination = echo
      ? { host: echo.host ?? name(echo.local.address), reached: true, peer: echo.peer }
      : { host: name(request.target.host), reached: false };
  } else {
    destination = { host: name(request.target.host), reached: false };
  }

  // Per hop: the destination as received, and where its name was resolved (split DNS).
  const receipts = hops.map((h, i) => receiptOf(h, hopEvents[i] ?? []));
  const destinations = hopDestinations(
    { host: request.from, target: request.target.host, protocol: request.protocol },
    receipts,
  );
  for (let i = 0; i < hops.length; i++) {
    const d = destinations[i];
    if (d && (hopEvents[i]?.length ?? 0) > 0) hops[i] = { ...hops[i]!, destination: d };
  }

  const path = [request.from, ...hops.map((h) => h.host)];
  if (destination?.reached) path.push(destination.host);
  return {
    origin: originOf(request),
    target: { host: request.target.host, port: request.target.port },
    protocol: request.protocol,
    command: request.command,
    hops,
    path,
    ...(destination ? { destination } : {}),
    reply: outcome.reply,
    ...(outcome.secondReply !== undefined ? { secondReply: outcome.secondReply } : {}),
    ...(outcome.clientRoute ? { clientRoute: outcome.clientRoute } : {}),
  };
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
  // Refused RFC 1929 credentials end the session before any request: its decision names them.
  const refused = events.find(
    (e): e is Of<'decision'> => e.type === 'decision' && e.reason === 'auth-failed',
  );
  if (refused) {
    return {
      host: closed.host ?? (closed.local ? name(closed.local.address) : client.address),
      service: closed.service === 'sockd' ? 'sockd' : 'rsockd',
      session: closed.session ?? '',
      client,
      from,
      user: refused.user,
      realUser: refused.realUser,
      decision: { action: 'deny', file: null, line: null, reason: 'auth-failed' },
      reply: null,
      replyVersion: 5,
      commands: [],
      logs: events.filter((e): e is Of<'log'> => e.type === 'log').map((l) => l.message),
    };
  }
  return {
    host: closed.host ?? (closed.local ? name(closed.local.address) : client.address),
    service: closed.service === 'sockd' ? 'sockd' : 'rsockd',
    session: closed.session ?? '',
    client,
    from,
    user: '',
    decision: { action: 'deny', file: null, line: null, reason: `closed-without-reply: ${closed.reason}` },
    reply: null,
    commands: [],
    logs: events.filter((e): e is Of<'log'> => e.type === 'log').map((l) => l.message),
  };
}

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
  const host = req.host ?? name(req.local.address);
  let identdHop: TraceHop['identd'];
  if (identd) {
    // The fake identd on the queried host logs the query it served: `<client port> , <server port>`.
    const answered = served.find(
      (s) =>
        s.peer.address === req.local.address &&
        s.query.replace(/\s+/g, '') === `${req.client.port},${req.local.port}`,
    );
    identdHop = {
      queried: name(identd.queried.address),
      answer: identd.answer,
      user: identd.user ?? null,
      verdict: identd.verdict,
      ...(answered ? { behaviour: answered.behaviour } : {}),
    };
  }
  return {
    host,
    service: req.service === 'sockd' ? 'sockd' : 'rsockd',
    session: req.session ?? '',
    client: req.client,
    from: name(req.client.address) === req.client.address ? from : name(req.client.address),
    user: req.user,
    ...(decision ? { realUser: decision.realUser } : {}),
    decision: decision
      ? {
          action: decision.action,
          file: decision.rule?.file ?? null,
          line: decision.rule?.line ?? null,
          reason: decision.reason,
        }
      : { action: 'deny', file: null, line: null, reason: 'no-decision' },
    ...(identdHop ? { identd: identdHop } : {}),
    ...(route
      ? {
          route: {
            action: route.action,
            file: route.rule?.file ?? null,
            line: route.rule?.line ?? null,
            servers: route.servers,
            attempts: of('upstream-attempt').map((a) => {
              const h = a.address !== null ? name(a.address) : undefined;
              return {
                server: a.server,
                ok: a.ok,
                ...(a.error !== undefined ? { error: a.error } : {}),
                ...(h !== undefined && h !== a.address ? { host: h } : {}),
                ...(a.address !== null ? { address: a.address, port: a.port } : {}),
              };
            }),
          },
        }
      : {}),
    ...(outbound
      ? { outbound: { local: outbound.local, remote: outbound.remote, to: name(outbound.remote.address) } }
      : {}),
    ...(iface
      ? {
          iface: {
            address: iface.iface,
            file: iface.rule?.file ?? null,
            line: iface.rule?.line ?? null,
            ...(iface.text !== undefined ? { text: iface.text } : {}),
          },
        }
      : {}),
    reply: reply?.code ?? null,
    ...(reply ? { replyVersion: reply.version } : {}),
    ...(req.command === 'bind' && reply?.phase === 'first' && reply.bound ? { bound: reply.bound } : {}),
    ...(req.command === 'bind' ? { secondReply: second?.code ?? null } : {}),
    commands: of('command').map((c) => c.command),
    logs: of('log').map((l) => l.message),
  };
}
