import { dottedOf, isDottedQuadShape } from '../common/inet-address.ts';
import type { ClientConfig, ServerConfig } from '../config/ast.ts';
import { decideClientRoute, planServerAttempts, type RouteDecision } from '../policy/client-route.ts';
import { credentialsAccepted } from '../policy/credentials.ts';
import { type Failure, Socks4Code, socks5RepFor } from '../policy/failure-reply.ts';
import { type HostIdentity, hostFromAddress, hostFromName } from '../policy/host.ts';
import { chooseInterface } from '../policy/interface-choice.ts';
import { applyIdentd, decideServerAccess, type IdentdResult } from '../policy/server-access.ts';
import type { ProbeRequest } from '../runtime/runtime.ts';
import type { HopReceipt } from '../scenario/destinations.ts';
import type { HopDecision } from '../scenario/trace.ts';
import { addressFrom } from '../topology/host-table.ts';
import type { HostModel } from '../topology/model.ts';
import { type ConnectVerdict, type LabWorld, timingMargin } from './world.ts';

/**
 * Static prediction of one request: walk hop by hop with the SAME policy functions the server
 * uses (decideServerAccess + applyIdentd with the fake identd behaviour of the queried host,
 * decideClientRoute, chooseInterface), and the topology's reachability for every connection.
 * No socket is opened. A run that disagrees is a finding about the network.
 */

/** What a hop's identd check comes to (the matrix shows the same record). */
export interface PredictedIdentd {
  readonly queried: string;
  readonly user: string | null;
  readonly verdict: 'confirmed' | 'mismatch' | 'unavailable';
}

export type RouteAction = 'deny' | 'direct' | 'sockd';

/** One upstream a hop tries (d.7), and why it failed when it did. */
export interface PredictedAttempt {
  readonly server: string;
  readonly host?: string;
  readonly ok: boolean;
  readonly why?: string;
}

export interface PredictedHop {
  readonly host: string;
  readonly from: string;
  readonly user: string;
  readonly decision: HopDecision;
  readonly identd?: PredictedIdentd;
  readonly route?: {
    readonly action: RouteAction;
    readonly file: string | null;
    readonly line: number | null;
    readonly attempts: readonly PredictedAttempt[];
  };
  /** SOCKS 4 code this hop sends its client (90 = granted and connected); null = none (refused credentials). */
  readonly reply: number | null;
  /** The destination as this hop received it and its own name service's answer (split DNS). */
  readonly receipt?: HopReceipt;
  /** The user identd attributed the request to here (`unknown` without an answer). */
  readonly realUser?: string;
  /** BIND: the address this hop's first reply binds (the port is the kernel's). */
  readonly bound?: string;
  /** BIND: this hop's second reply (null: none). */
  readonly secondReply?: number | null;
  /** BIND at the last hop, multi-homed: the sockd.route line that chose the interface. */
  readonly iface?: {
    readonly address: string | null;
    readonly file: string | null;
    readonly line: number | null;
    readonly text?: string;
  };
}

export interface Prediction {
  /** What the origin gets (SOCKS 5 codes for socks5); null = no reply (direct, deny by socks.conf, no server). */
  readonly reply: number | null;
  readonly secondReply?: number | null;
  readonly path: readonly string[];
  readonly hops: readonly PredictedHop[];
  readonly clientRoute?: { readonly action: 'deny' | 'direct' | 'sockd'; readonly line: number | null };
  readonly reached: boolean;
  /** One line per decision, e.g. `B: permit sockd.conf:2; identd on C says x (confirmed)`. */
  readonly reasoning: readonly string[];
  /**
   * Where link faults make the outcome a matter of timing too close to call (a delay near a
   * timer): the prediction is a guess there, and says so instead of being compared.
   */
  readonly undecided?: readonly string[];
}

/** Reasoning lines that mark a guess (see Prediction.undecided). */
export const Undecided = 'cannot predict: ';

function noteUndecided(reasoning: string[], c: ConnectVerdict): void {
  if (c.ok && c.undecided) reasoning.push(`${Undecided}${c.undecided}`);
}

interface HopInput {
  readonly server: HostModel;
  readonly client: HostModel;
  /** The client's address as the server sees it (its interface on the shared network). */
  readonly clientAddress: string;
  /** The server address the client connected to (what a single-homed BIND reply stands for). */
  readonly serverAddress: string;
  /** The destination as this hop receives it: a name (4A / SOCKS 5) or an address. */
  readonly wire: { readonly name: string } | { readonly address: string };
  /** The USERID (or RFC 1929 name) this hop receives. */
  readonly user: string;
  /** Claimed user for identd comparison (SOCKS 5 without credentials: ''). */
  readonly identdClaim: string;
  /** The user owning the client's socket (what a truthful identd answers). */
  readonly socketOwner: string;
}

interface HopResult {
  readonly hops: PredictedHop[];
  readonly path: string[];
  readonly reached: boolean;
  /** SOCKS 4 code to the client of the first hop in this chain. */
  readonly reply: number;
  /** Why the hop failed, in the server's own vocabulary (one table maps it to the SOCKS 5 REP). */
  readonly failure?: Failure;
  readonly secondReply?: number | null;
}

/** A hop the request is handed to: the server, and both ends of the connection to it. */
interface NextHop {
  readonly host: HostModel;
  /** The connecting side's address on the shared network (what the server sees as its client). */
  readonly clientAddress: string;
  /** The server address dialled. */
  readonly serverAddress: string;
}

/** The request as the origin puts it on the wire, and the destination as the origin sees it. */
interface OriginRequest {
  readonly origin: HostModel;
  /** The target's address from the origin (the target's own text when it is no topology host). */
  readonly targetAddress: string;
  /** The destination by the origin's own name service (its socks.conf decides by it). */
  readonly dst: HostIdentity;
  readonly wire: HopInput['wire'];
  /** The USERID (or RFC 1929 name) the request claims. */
  readonly claimed: string;
}

/** Where the origin's first step ends: the first hop, or the whole prediction when none is reached. */
type FirstStep =
  | { readonly next: NextHop; readonly clientRoute?: Prediction['clientRoute'] }
  | { readonly stop: Prediction };

/**
 * The request from the origin's side, then hop by hop as the servers' byte path goes: the origin
 * picks its first hop and greets it, each hop accepts, decides, dials and relays (walkHop), and
 * the origin reads the first hop's reply.
 */
export async function predictRequest(world: LabWorld, request: ProbeRequest): Promise<Prediction> {
  const reasoning: string[] = [];
  const sent = await originRequest(world, request);
  const { origin } = sent;
  if (request.protocol === 'socks4' && !isDottedQuadShape(sent.targetAddress)) {
    reasoning.push(`${origin.name} cannot resolve ${request.target.host}: a SOCKS 4 client sends nothing`);
    return noReply(reasoning, [origin.name]);
  }
  const step =
    request.via !== undefined && !request.useSocksConf
      ? namedFirstHop(world, request, origin, request.via, reasoning)
      : await routedFirstHop(world, request, sent, reasoning);
  if ('stop' in step) return step.stop;
  const { next: first, clientRoute } = step;
  const greeted = greetFirstHop(request, sent, first, reasoning, clientRoute);
  if ('stop' in greeted) return greeted.stop;
  const chain = await walkHop(world, request, reasoning, {
    server: first.host,
    client: origin,
    clientAddress: first.clientAddress,
    serverAddress: first.serverAddress,
    wire: sent.wire,
    user: greeted.user,
    identdClaim: greeted.user,
    socketOwner: request.user,
  });
  return {
    reply: originReply(request, chain),
    ...(request.command === 'bind' ? { secondReply: chain.secondReply ?? null } : {}),
    path: [origin.name, ...chain.path],
    hops: chain.hops,
    ...(clientRoute ? { clientRoute } : {}),
    reached: chain.reached,
    reasoning,
    ...undecidedOf(reasoning),
  };
}

async function originRequest(world: LabWorld, request: ProbeRequest): Promise<OriginRequest> {
  const origin = world.host(request.from);
  if (!origin) throw new Error(`unknown origin host ${request.from}`);
  const targetAddress = addressFor(world, origin, request.target.host);
  const byName = request.protocol !== 'socks4' && !isDottedQuadShape(request.target.host);
  // The origin's own view (its socks.conf decides by it): its name service, as its programs use.
  const originResolver = world.resolverOf(origin.name);
  const dst = byName
    ? await hostFromName(originResolver, request.target.host)
    : await hostFromAddress(originResolver, targetAddress);
  // The USERID on the wire: a forged claim when set; the socket (and the origin's socks.conf
  // lookup, as the client library does it) stays the process owner's.
  const claimed =
    request.protocol === 'socks5' ? (request.credentials?.username ?? '') : (request.claim ?? request.user);
  return {
    origin,
    targetAddress,
    dst,
    wire: byName ? { name: request.target.host } : { address: targetAddress },
    claimed,
  };
}

/** A prediction in which the origin gets no reply (nothing sent, or no server reached). */
function noReply(reasoning: readonly string[], path: string[], extra: Partial<Prediction> = {}): Prediction {
  return {
    reply: null,
    path,
    hops: [],
    reached: false,
    reasoning,
    ...undecidedOf(reasoning),
    ...extra,
  };
}

/** The first hop named by the request (`via host[:port]`), if the origin can reach it. */
function namedFirstHop(
  world: LabWorld,
  request: ProbeRequest,
  origin: HostModel,
  via: string,
  reasoning: string[],
): FirstStep {
  const [viaName = '', viaPort] = via.split(':');
  const viaHost = world.host(viaName) ?? world.owner(viaName)?.host;
  const address = addressFor(world, origin, viaName);
  const p = viaPort !== undefined ? Number(viaPort) : (viaHost?.server?.port ?? 1080);
  const c = world.canConnect(origin, address, p, request.timeoutMs);
  noteUndecided(reasoning, c);
  if (!c.ok || !viaHost) {
    reasoning.push(`${origin.name} cannot reach ${via}: ${c.ok ? 'unknown host' : c.why}`);
    return { stop: noReply(reasoning, [origin.name]) };
  }
  return { next: { host: viaHost, clientAddress: c.local, serverAddress: address } };
}

/** The first hop the origin's own socks.conf chooses; deny and direct end the prediction there. */
async function routedFirstHop(
  world: LabWorld,
  request: ProbeRequest,
  sent: OriginRequest,
  reasoning: string[],
): Promise<FirstStep> {
  const { origin, dst } = sent;
  const port = request.target.port;
  const config = world.probeConfig(origin.name);
  const route = decideClientRoute(
    config,
    { dst, user: request.user, port },
    { userFiles: world.userFiles(undefined) },
  );
  const clientRoute = { action: route.action, line: route.rule?.line ?? null };
  reasoning.push(`${origin.name} ${describeRoute(route, config)}`);
  if (route.action === 'deny') return { stop: noReply(reasoning, [origin.name], { clientRoute }) };
  if (route.action === 'direct') {
    const c = world.canConnect(origin, dst.dotted, port, request.timeoutMs);
    noteUndecided(reasoning, c);
    const to = world.owner(dst.dotted)?.host.name ?? dst.display;
    reasoning.push(
      c.ok
        ? `${origin.name} connects to ${to}:${port} directly`
        : `${origin.name} cannot reach ${to}: ${c.why}`,
    );
    return {
      stop: noReply(reasoning, c.ok ? [origin.name, to] : [origin.name], { clientRoute, reached: c.ok }),
    };
  }
  const picked = await pickServer(world, origin, route.servers, 1080, reasoning, request.timeoutMs);
  if (!picked.next) return { stop: noReply(reasoning, [origin.name], { clientRoute }) };
  return { next: picked.next, clientRoute };
}

/**
 * The greeting at the first hop: the USERID (or RFC 1929 name) it receives. A SOCKS 5 request to
 * a server without --socks5 ends here; so do credentials its passwd file refuses. A server with a
 * passwd file takes the credentials offered; without one it picks "no authentication", so no
 * name reaches it.
 */
function greetFirstHop(
  request: ProbeRequest,
  sent: OriginRequest,
  first: NextHop,
  reasoning: string[],
  clientRoute: Prediction['clientRoute'],
): { readonly user: string } | { readonly stop: Prediction } {
  const origin = sent.origin.name;
  const routeCite = clientRoute ? { clientRoute } : {};
  if (request.protocol !== 'socks5') return { user: sent.claimed };
  if (!first.host.server?.socks5) {
    reasoning.push(`${first.host.name} does not speak SOCKS 5 (--socks5 off): closes without a reply`);
    return { stop: noReply(reasoning, [origin, first.host.name], routeCite) };
  }
  const passwd = first.host.server.passwd;
  const creds = request.credentials;
  if (!creds || !passwd) return { user: '' };
  if (credentialsAccepted(passwd.text, creds.username, creds.password)) return { user: creds.username };
  reasoning.push(
    `${first.host.name}: RFC 1929 credentials of ${creds.username} refused (wrong password or no such user)`,
  );
  return {
    stop: {
      reply: socks5RepFor({ kind: 'refused' }),
      path: [origin, first.host.name],
      hops: [
        {
          host: first.host.name,
          from: origin,
          user: creds.username,
          realUser: 'unknown',
          decision: { action: 'deny', file: null, line: null, reason: 'auth-failed' },
          reply: null,
        },
      ],
      ...routeCite,
      reached: false,
      reasoning,
    },
  };
}

/** What the origin reads: the first hop's SOCKS 4 code, or its SOCKS 5 REP through the one failure table. */
function originReply(request: ProbeRequest, chain: HopResult): number {
  if (request.protocol !== 'socks5') return chain.reply;
  return chain.reply === Socks4Code.Granted ? 0x00 : socks5RepFor(chain.failure ?? { kind: 'refused' });
}

function undecidedOf(reasoning: readonly string[]): { undecided?: readonly string[] } {
  const lines = reasoning.filter((r) => r.startsWith(Undecided)).map((r) => r.slice(Undecided.length));
  return lines.length > 0 ? { undecided: lines } : {};
}

/** The address of `target` that `from` would use: a shared network's, else its first (as the probe does). */
export function addressFor(world: LabWorld, from: HostModel, target: string): string {
  return addressFrom(world.topology.hosts, from.name, target, world.namesOf(from.name));
}

function describeRoute(route: RouteDecision, config: ClientConfig | null): string {
  const where = route.rule
    ? `${route.rule.file}:${route.rule.line}`
    : route.shortcut
      ? `(${route.shortcut})`
      : config
        ? '(no line matches)'
        : '(no socks.conf)';
  return `${where} → ${route.action}${route.action === 'sockd' ? ` @=${route.servers.join(',') || '(default: none)'}` : ''}`;
}

/** d.7 over the topology: the first entry whose address accepts a connection. */
async function pickServer(
  world: LabWorld,
  from: HostModel,
  entries: readonly string[],
  port: number,
  reasoning: string[],
  timerMs: number = world.timers.upstreamConnect,
): Promise<{ attempts: PredictedAttempt[]; next?: NextHop }> {
  const attempts: PredictedAttempt[] = [];
  // The server's own d.7 planner: numeric entries as they are, names looked up when reached.
  for await (const plan of planServerAttempts(entries, world.resolverOf(from.name))) {
    if (plan.kind === 'not-found') {
      reasoning.push(`${from.name}: upstream ${plan.entry}: host not found`);
      continue;
    }
    for (const address of plan.addresses) {
      const owner = world.owner(address)?.host;
      const c = world.canConnect(from, address, port, timerMs);
      noteUndecided(reasoning, c);
      if (c.ok && owner?.server) {
        attempts.push({ server: plan.entry, host: owner.name, ok: true });
        return { attempts, next: { host: owner, clientAddress: c.local, serverAddress: address } };
      }
      const why = c.ok ? `${owner?.name ?? address} runs no SOCKS server` : c.why;
      attempts.push({ server: plan.entry, ...(owner ? { host: owner.name } : {}), ok: false, why });
      reasoning.push(`${from.name}: upstream ${plan.entry} fails: ${why}`);
    }
  }
  return { attempts };
}

function identdAnswer(
  world: LabWorld,
  input: HopInput,
  reasoning: string[],
): { result: IdentdResult; said: string } {
  const b = world.identdOf(input.client.name);
  if (!b) return { result: { kind: 'unavailable', reason: 'no identd' }, said: 'no identd running' };
  if (world.faults().length > 0) {
    // The query is a connection from the server to the client's identd and one exchange on it,
    // both within the identd timer (g.2): link faults on the way decide whether it gets through.
    const port = input.client.identd?.port ?? 113;
    const timer = world.timers.identd;
    const c = world.canConnect(input.server, input.clientAddress, port);
    if (!c.ok)
      return { result: { kind: 'unavailable', reason: 'unreachable' }, said: `cannot be reached (${c.why})` };
    const total = 2 * world.roundTripMs(input.server, c.local, input.clientAddress, port);
    if (total > 0) {
      const margin = timingMargin(timer);
      if (total >= timer + margin)
        return {
          result: { kind: 'unavailable', reason: 'timeout' },
          said: `answers after ${total} ms of link delay, past the ${timer} ms identd timer`,
        };
      if (total > timer - margin)
        reasoning.push(
          `${Undecided}identd on ${input.client.name} answers after ${total} ms of link delay, too near the ${timer} ms identd timer to say`,
        );
    }
  }
  switch (b.kind) {
    case 'truthful':
      return { result: { kind: 'user', user: input.socketOwner }, said: `says ${input.socketOwner}` };
    case 'lying':
      return { result: { kind: 'user', user: b.user }, said: `lies: ${b.user}` };
    default:
      return { result: { kind: 'unavailable', reason: b.kind }, said: `is ${b.kind}` };
  }
}

/** What a hop makes of the request it received, before any routing (HopBase + its reply is a PredictedHop). */
type HopBase = Omit<PredictedHop, 'reply'>;

/** The request as a hop received it: the client and the destination by the hop's own name service. */
interface Received {
  readonly src: HostIdentity;
  readonly dst: HostIdentity;
  readonly receipt: HopReceipt;
}

/** A socks.conf decision of an rsockd hop, and how a hop record cites it. */
interface HopRoute {
  readonly decision: RouteDecision;
  readonly cite: { readonly action: RouteAction; readonly file: string | null; readonly line: number | null };
}

/**
 * One hop, in the order the server handles the bytes: accept the request (its rules in force,
 * the request by its own name service), decide it (sockd.conf, then identd), route it (an
 * rsockd's socks.conf; sockd is rsockd with `direct ALL`), then dial: an upstream, whose walk
 * this hop relays, or the destination itself.
 */
async function walkHop(
  world: LabWorld,
  request: ProbeRequest,
  reasoning: string[],
  input: HopInput,
): Promise<HopResult> {
  const config = world.serverConfig(input.server.name);
  if (!config) return unusableConfig(request, reasoning, input);
  const received = await receive(world, input);
  const access = decideAccess(world, request, reasoning, input, config, received);
  if ('failure' in access) return failedHop(request, access.hop, access.failure);
  const route = routeAtHop(world, request, reasoning, input, received.dst);
  if (route?.decision.action === 'deny')
    return failedHop(
      request,
      { ...access.base, route: { ...route.cite, attempts: [] }, reply: Socks4Code.Rejected },
      { kind: 'refused' },
    );
  if (route?.decision.action === 'sockd')
    return relayUpstream(world, request, reasoning, input, received.dst, access.base, route);
  const routeHop = route ? { route: { ...route.cite, attempts: [] } } : {};
  return dialDestination(
    world,
    request,
    reasoning,
    { ...input, dst: received.dst },
    { ...access.base, ...routeHop },
  );
}

/** A hop that ends the request: its record alone, and the failure its reply stands for. */
function failedHop(request: ProbeRequest, hop: PredictedHop, failure: Failure): HopResult {
  return {
    hops: [hop],
    path: [hop.host],
    reached: false,
    reply: hop.reply ?? 91,
    failure,
    ...(request.command === 'bind' ? { secondReply: null } : {}),
  };
}

/** A server whose sockd.conf does not parse refuses everything (c.12). */
function unusableConfig(request: ProbeRequest, reasoning: string[], input: HopInput): HopResult {
  const name = input.server.name;
  reasoning.push(`${name}: sockd.conf unusable → 91`);
  return failedHop(
    request,
    {
      host: name,
      from: input.client.name,
      user: input.user,
      decision: { action: 'deny', file: null, line: null, reason: 'config-unusable' },
      reply: Socks4Code.Rejected,
    },
    { kind: 'config-unusable' },
  );
}

/** Accept: the client and the destination by this hop's own name service (a name resolves here, or does not: split DNS). */
async function receive(world: LabWorld, input: HopInput): Promise<Received> {
  const name = input.server.name;
  const resolver = world.resolverOf(name);
  const src = await hostFromAddress(resolver, input.clientAddress);
  const dst =
    'name' in input.wire
      ? await hostFromName(resolver, input.wire.name)
      : await hostFromAddress(resolver, input.wire.address);
  const receipt: HopReceipt =
    'name' in input.wire
      ? { host: name, name: input.wire.name, resolved: dst.addresses.map((a) => dottedOf(a)) }
      : { host: name, address: input.wire.address };
  return { src, dst, receipt };
}

/** Decide: the hop's sockd.conf line, then identd when the line asks it; a refusal ends the walk. */
function decideAccess(
  world: LabWorld,
  request: ProbeRequest,
  reasoning: string[],
  input: HopInput,
  config: ServerConfig,
  received: Received,
): { readonly base: HopBase } | { readonly hop: PredictedHop; readonly failure: Failure } {
  const name = input.server.name;
  const model = input.server.server!;
  const decision = decideServerAccess(
    config,
    {
      src: received.src,
      dst: received.dst,
      user: input.user,
      port: request.target.port,
      command: request.command,
    },
    { identdDefault: model.identdDefault, userFiles: world.userFiles(model) },
  );
  const asked = decision.action === 'permit' && decision.identd !== 'off';
  const answer = asked ? identdAnswer(world, input, reasoning) : undefined;
  const outcome = applyIdentd(decision, answer?.result ?? { kind: 'not-asked' }, input.identdClaim);
  const cite = decision.rule ? `${decision.rule.file}:${decision.rule.line}` : '(no line matches)';
  const reason = !decision.rule
    ? 'no-match'
    : outcome.identdVerdict === 'mismatch'
      ? 'identd-mismatch'
      : outcome.identdVerdict === 'unavailable' && !outcome.granted
        ? 'identd-unavailable'
        : 'rule';
  const identd: PredictedHop['identd'] = asked
    ? {
        queried: input.client.name,
        user: answer?.result.kind === 'user' ? answer.result.user : null,
        verdict: outcome.identdVerdict === 'not-asked' ? 'unavailable' : outcome.identdVerdict,
      }
    : undefined;
  reasoning.push(
    `${name}: ${decision.action} ${cite}${asked ? `; identd on ${input.client.name} ${answer?.said} (${outcome.identdVerdict})` : ''}${outcome.granted ? '' : ` → ${outcome.reply}`}`,
  );
  const base: HopBase = {
    host: name,
    from: input.client.name,
    user: input.user,
    receipt: received.receipt,
    realUser: outcome.realUser,
    decision: {
      action: outcome.granted ? 'permit' : 'deny',
      file: decision.rule?.file ?? null,
      line: decision.rule?.line ?? null,
      reason,
    },
    ...(identd ? { identd } : {}),
  };
  if (outcome.granted) return { base };
  return {
    hop: { ...base, reply: outcome.reply },
    failure:
      reason === 'rule' || reason === 'no-match'
        ? { kind: 'refused' }
        : { kind: reason === 'identd-mismatch' ? 'identd-mismatch' : 'identd-unavailable' },
  };
}

/** Route: an rsockd's socks.conf decision (none for sockd: it is rsockd with `direct ALL`). */
function routeAtHop(
  world: LabWorld,
  request: ProbeRequest,
  reasoning: string[],
  input: HopInput,
  dst: HostIdentity,
): HopRoute | undefined {
  const host = input.server;
  const model = host.server!;
  if (model.kind !== 'rsockd') return undefined;
  const clientConf = world.clientConfig(host.name);
  const decision = decideClientRoute(
    clientConf,
    { dst, user: input.user, port: request.target.port },
    {
      userFiles: world.userFiles(model),
      ...(model.defaultServer !== undefined ? { defaultServer: model.defaultServer } : {}),
    },
  );
  reasoning.push(`${host.name} ${describeRoute(decision, clientConf)}`);
  return {
    decision,
    cite: { action: decision.action, file: decision.rule?.file ?? null, line: decision.rule?.line ?? null },
  };
}

/**
 * Dial an upstream (d.7) and relay its walk: the upstream gets our client's USERID (d.8), and
 * our client gets 90 or 91, never the upstream's 92/93.
 */
async function relayUpstream(
  world: LabWorld,
  request: ProbeRequest,
  reasoning: string[],
  input: HopInput,
  dst: HostIdentity,
  base: HopBase,
  route: HopRoute,
): Promise<HopResult> {
  const host = input.server;
  const model = host.server!;
  const picked = await pickServer(world, host, route.decision.servers, model.upstreamPort, reasoning);
  const routeHop = { ...route.cite, attempts: picked.attempts };
  if (!picked.next)
    return failedHop(
      request,
      { ...base, route: routeHop, reply: Socks4Code.Rejected },
      { kind: 'upstream-unreachable' },
    );
  // d.8: a resolved name goes on as its address, a name this hop cannot resolve goes on as a
  // name (4A) for the next hop to resolve.
  const nextWire = dst.addresses.length > 0 ? { address: dottedOf(dst.addresses[0]!) } : input.wire;
  const rest = await walkHop(world, request, reasoning, {
    server: picked.next.host,
    client: host,
    clientAddress: picked.next.clientAddress,
    serverAddress: picked.next.serverAddress,
    wire: nextWire,
    user: input.user,
    identdClaim: input.user,
    socketOwner: model.owner,
  });
  const reply = rest.reply === Socks4Code.Granted ? Socks4Code.Granted : Socks4Code.Rejected; // d.8: never pass 92/93 through
  const next = rest.hops[0];
  // d.9: an upstream's wildcard bound address stands for the upstream we talk to.
  const bound =
    request.command === 'bind' && reply === Socks4Code.Granted && next?.bound !== undefined
      ? { bound: next.bound === '0.0.0.0' ? picked.next.serverAddress : next.bound }
      : {};
  const second =
    request.command === 'bind'
      ? { secondReply: reply === Socks4Code.Granted ? (rest.secondReply ?? null) : null }
      : {};
  return {
    hops: [{ ...base, route: routeHop, reply, ...bound, ...second }, ...rest.hops],
    path: [host.name, ...rest.path],
    reached: rest.reached,
    reply,
    ...(reply === Socks4Code.Granted
      ? {}
      : { failure: { kind: 'upstream-rejected', code: rest.reply } as const }),
    ...(request.command === 'bind' ? { secondReply: rest.secondReply ?? null } : {}),
  };
}

/** Dial the destination from this hop: a name must resolve here; BIND listens instead of connecting. */
function dialDestination(
  world: LabWorld,
  request: ProbeRequest,
  reasoning: string[],
  input: HopInput & { readonly dst: HostIdentity },
  base: HopBase,
): HopResult {
  const name = input.server.name;
  const { dst } = input;
  if ('name' in input.wire && dst.addresses.length === 0) {
    reasoning.push(`${name}: ${input.wire.name} does not resolve here → 91`);
    return failedHop(request, { ...base, reply: Socks4Code.Rejected }, { kind: 'unresolved' });
  }
  if (request.command === 'bind') return bindDirect(world, request, reasoning, input, base);
  const c = world.canConnect(input.server, dst.dotted, request.target.port, world.timers.establish);
  noteUndecided(reasoning, c);
  const to = world.owner(dst.dotted)?.host.name ?? dst.display;
  if (!c.ok) {
    reasoning.push(`${name} cannot connect to ${to}:${request.target.port}: ${c.why} → 91`);
    return failedHop(request, { ...base, reply: Socks4Code.Rejected }, { kind: 'errno', code: c.code });
  }
  reasoning.push(`${name} connects to ${to}:${request.target.port}`);
  return {
    hops: [{ ...base, reply: Socks4Code.Granted }],
    path: [name, to],
    reached: true,
    reply: Socks4Code.Granted,
  };
}

/** b.5 at the last hop: the listening socket (route file in multi-homed mode), then the peer. */
function bindDirect(
  world: LabWorld,
  request: ProbeRequest,
  reasoning: string[],
  input: HopInput & { readonly dst: HostIdentity },
  base: HopBase,
): HopResult {
  const listen = bindInterface(world, reasoning, input);
  if ('failure' in listen) {
    return {
      hops: [{ ...base, iface: listen.iface, reply: Socks4Code.Rejected, secondReply: null }],
      path: [input.server.name],
      reached: false,
      reply: Socks4Code.Rejected,
      failure: listen.failure,
      secondReply: null,
    };
  }
  // The first reply's address: the chosen interface; single-homed, 0.0.0.0 (SOCKS 4, d.9) or
  // the address the client connected to (SOCKS 5 names the server's own address).
  const firstHop = input.client.name === request.from;
  const bound =
    listen.address ?? (request.protocol === 'socks5' && firstHop ? input.serverAddress : '0.0.0.0');
  const granted = (secondReply: number | null): PredictedHop => ({
    ...base,
    ...(listen.iface ? { iface: listen.iface } : {}),
    reply: Socks4Code.Granted,
    bound,
    secondReply,
  });
  return bindPeer(world, request, reasoning, input, listen.address, granted);
}

/**
 * The interface a BIND listens on: in multi-homed mode the sockd.route line for the destination
 * (none: refused), single-homed none chosen (the wildcard).
 */
function bindInterface(
  world: LabWorld,
  reasoning: string[],
  input: HopInput & { readonly dst: HostIdentity },
):
  | { readonly address?: string; readonly iface?: NonNullable<PredictedHop['iface']> }
  | { readonly iface: NonNullable<PredictedHop['iface']>; readonly failure: Failure } {
  const host = input.server;
  const routeConfig = world.routeConfig(host.name);
  const multihomed = host.server!.multihomed ?? routeConfig !== undefined;
  if (!multihomed) return {};
  const choice = routeConfig ? chooseInterface(routeConfig, input.dst) : null;
  if (!choice) {
    reasoning.push(`${host.name}: no sockd.route line for ${input.dst.dotted} → 91`);
    return { iface: { address: null, file: null, line: null }, failure: { kind: 'no-route' } };
  }
  reasoning.push(`${host.name}: BIND listens on ${choice.iface} (${choice.rule.file}:${choice.rule.line})`);
  return {
    address: choice.iface,
    iface: { address: choice.iface, file: choice.rule.file, line: choice.rule.line, text: choice.text },
  };
}

/** The second reply: the expected peer connects back to the bound address (b.5.1), or nobody does. */
function bindPeer(
  world: LabWorld,
  request: ProbeRequest,
  reasoning: string[],
  input: HopInput & { readonly dst: HostIdentity },
  listenAddress: string | undefined,
  granted: (secondReply: number | null) => PredictedHop,
): HopResult {
  const host = input.server;
  const noSecondReply: HopResult = {
    hops: [granted(null)],
    path: [host.name],
    reached: false,
    reply: Socks4Code.Granted,
    secondReply: null,
  };
  const peer = request.bindPeer ? world.host(request.bindPeer.from) : undefined;
  if (!peer) return noSecondReply;
  // The peer dials the bound address: the chosen interface, or (single-homed, DSTIP 0.0.0.0 in
  // the reply) the address the client side substituted: the one it connected to (b.5.1, d.9).
  const candidates = [listenAddress ?? input.serverAddress];
  const reachable = candidates
    .map((a) => ({ a, net: world.owner(a)?.network }))
    .find(
      ({ net }) => net !== undefined && !world.isCut(net) && peer.interfaces.some((i) => i.network === net),
    );
  if (!reachable) {
    reasoning.push(`${peer.name} cannot reach ${host.name}'s bound address: no second reply`);
    return noSecondReply;
  }
  const peerAddress =
    peer.interfaces.find((i) => i.network === world.owner(reachable.a)?.network)?.address ?? '';
  const expected =
    input.dst.dotted === '0.0.0.0' || input.dst.addresses.some((a) => dottedOf(a) === peerAddress);
  reasoning.push(
    `${peer.name} connects back from ${peerAddress}: ${expected ? 'expected peer → 90' : 'wrong host → 91'}`,
  );
  return {
    hops: [granted(expected ? Socks4Code.Granted : Socks4Code.Rejected)],
    path: expected ? [host.name, peer.name] : [host.name],
    reached: expected,
    reply: Socks4Code.Granted,
    secondReply: expected ? Socks4Code.Granted : Socks4Code.Rejected,
  };
}
