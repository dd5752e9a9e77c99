import type { Endpoint, LabEvent } from '../common/events.ts';
import { isDottedQuadShape } from '../common/inet-address.ts';
import type { HostProbeOutcome, HostProbeRequest } from '../common/probe.ts';
import type { Resolver } from '../common/resolver.ts';
import type { ClientConfig } from '../config/ast.ts';
import type { UserFileReader } from '../config/user-file.ts';
import type { Conn, Net } from '../net/net.ts';
import { type SocksExchange, socksExchange } from './handshake.ts';
import { dialByRoute, type RouteDial } from './route-dial.ts';

/**
 * One client request from inside a host, as a user: `ProbeRequest → ProbeOutcome` on the
 * host's own Net, so identd on the origin attributes the connection to that user. The first
 * hop is `via`, or what the origin's socks.conf says (the policy engine rsockd uses); the route,
 * every server attempt and the outbound connection are emitted as `probe` events. Every runtime
 * runs this one client: the local runtime in-process, netns and docker through the host agent.
 * The request and outcome types live in common/probe.ts, shared with the Runtime interface.
 */

/** How the origin sees the topology's hosts (names in targets and `via`). */
export interface ProbeHosts {
  /** The address the origin reaches a topology host by; other names and addresses as they are. */
  address(nameOrAddress: string): string;
  /** The SOCKS port of the host with this name or address, when it runs a server. */
  serverPort(nameOrAddress: string): number | undefined;
}

/** What the BIND peer's connection came to: something to close afterwards, or why it failed. */
export interface BindPeerResult {
  readonly close?: () => void;
  readonly error?: string;
}

export interface HostProbeContext {
  /** Net of the probing user on the origin host. */
  readonly net: Net;
  /** The origin host's name (the `host` of every event). */
  readonly origin: string;
  readonly hosts: ProbeHosts;
  readonly resolver: Resolver;
  readonly userFiles: UserFileReader;
  /** The origin's parsed socks.conf; null = none (everything direct, d.1). */
  readonly socksConf: ClientConfig | null;
  readonly emit: (event: LabEvent) => void;
  /** BIND with `bindPeer` set, first reply granted: have the peer connect to `bound`. */
  readonly bindPeer?: (bound: Endpoint) => Promise<BindPeerResult> | BindPeerResult;
}

const DefaultTimeoutMs = 5000;

/** `B`, `B:1080`, `10.1.0.1`, `10.1.0.1:1080`, a bare IPv6 address, `[2001:db8::1]:1080` → first hop. */
export function firstHop(hosts: ProbeHosts, via: string): Endpoint {
  const m =
    /^\[(.+)\](?::(\d+))?$/.exec(via) ??
    (via.split(':').length > 2 ? [via, via] : /^(.*?)(?::(\d+))?$/.exec(via));
  const name = m?.[1] ?? via;
  const explicit = m?.[2] !== undefined ? Number(m[2]) : undefined;
  return { address: hosts.address(name), port: explicit ?? hosts.serverPort(name) ?? 1080 };
}

/**
 * One probe, top to bottom: the first hop (`via`, or what socks.conf says), then the SOCKS
 * exchange with it, then the conversation (CONNECT) or the second reply (BIND).
 */
export async function probeFromHost(
  ctx: HostProbeContext,
  request: HostProbeRequest,
): Promise<HostProbeOutcome> {
  const run = startRun(ctx, request);
  // A SOCKS 4 client that cannot resolve the name here sends nothing (gethostbyname failed).
  if (request.protocol === 'socks4' && !isDottedQuadShape(run.target.host)) {
    return run.finish({
      reply: null,
      received: '',
      error: `cannot resolve ${run.target.host} on ${ctx.origin}`,
    });
  }
  const opened =
    request.via !== undefined && !request.useSocksConf
      ? await dialVia(ctx, request.via, run)
      : await dialBySocksConf(ctx, request, run);
  if ('outcome' in opened) return opened.outcome;
  return socksThrough(ctx, request, run, opened.conn, opened.clientRoute);
}

/** What every step of one probe shares: its timers, its target and how it ends. */
interface ProbeRun {
  readonly timeoutMs: number;
  /** Quiet time after which a conversation is over. */
  readonly idleMs: number;
  /** How long to wait for an echo of what was sent before calling the line idle. */
  readonly echoPatienceMs: number;
  /** The destination as this protocol sends it (SOCKS 4: an address). */
  readonly target: { readonly host: string; readonly port: number };
  /** The common fields of a probe event from this origin, now. */
  at(): { readonly t: number; readonly host: string; readonly service: 'probe' };
  finish(o: Omit<HostProbeOutcome, 'durationMs' | 'protocol'>): HostProbeOutcome;
}

function startRun(ctx: HostProbeContext, request: HostProbeRequest): ProbeRun {
  const started = Date.now();
  const timeoutMs = request.timeoutMs ?? DefaultTimeoutMs;
  // SOCKS 4 carries only an address: resolve a topology host name on the client, as clients do.
  const targetHost =
    request.protocol === 'socks4' ? ctx.hosts.address(request.target.host) : request.target.host;
  return {
    timeoutMs,
    idleMs: Math.min(300, timeoutMs),
    echoPatienceMs: Math.min(2_000, timeoutMs),
    target: { host: targetHost, port: request.target.port },
    at: () => ({ t: Date.now(), host: ctx.origin, service: 'probe' as const }),
    finish: (o) => ({ ...o, protocol: request.protocol, durationMs: Date.now() - started }),
  };
}

/** A connection to the first SOCKS server, or the outcome that ended the probe before one. */
type FirstHop =
  | { readonly conn: Conn; readonly clientRoute?: HostProbeOutcome['clientRoute'] }
  | { readonly outcome: HostProbeOutcome };

/** The first hop named by the request (`via`), dialled directly. */
async function dialVia(ctx: HostProbeContext, via: string, run: ProbeRun): Promise<FirstHop> {
  const first = firstHop(ctx.hosts, via);
  try {
    return {
      conn: await ctx.net.connect({ host: first.address, port: first.port, timeoutMs: run.timeoutMs }),
    };
  } catch (err) {
    return {
      outcome: run.finish({
        reply: null,
        received: '',
        error: `connect to ${first.address}:${first.port}: ${errText(err)}`,
      }),
    };
  }
}

/**
 * The first hop chosen by the origin's socks.conf (the policy engine rsockd uses), with the route
 * and every server attempt emitted. `direct` needs no SOCKS server: the conversation happens here.
 */
async function dialBySocksConf(
  ctx: HostProbeContext,
  request: HostProbeRequest,
  run: ProbeRun,
): Promise<FirstHop> {
  const route: RouteDial | { kind: 'error'; error: string } = await dialByRoute(
    {
      net: ctx.net,
      resolver: ctx.resolver,
      userFiles: ctx.userFiles,
      socksConf: ctx.socksConf,
      serverPort: 1080,
      connectTimeoutMs: run.timeoutMs,
    },
    run.target,
    request.user,
  ).catch((err: unknown) => ({ kind: 'error' as const, error: errText(err) }));
  if (route.kind === 'error')
    return { outcome: run.finish({ reply: null, received: '', error: route.error }) };
  const d = route.decision;
  const clientRoute = { action: d.action, line: d.rule?.line ?? null };
  ctx.emit({
    ...run.at(),
    type: 'route',
    action: d.action,
    rule: d.rule,
    servers: d.servers,
    ...(d.shortcut ? { shortcut: d.shortcut } : {}),
  });
  if (route.kind === 'deny')
    return { outcome: run.finish({ reply: null, received: '', clientRoute, error: 'denied by socks.conf' }) };
  if (route.kind === 'direct') {
    ctx.emit({
      ...run.at(),
      type: 'outbound',
      local: route.conn.local,
      remote: route.conn.remote,
      via: 'direct',
    });
    const got = await converse(
      route.conn.socket,
      Buffer.alloc(0),
      request.send,
      run.idleMs,
      run.echoPatienceMs,
    );
    route.conn.socket.destroy();
    return {
      outcome: run.finish({
        reply: null,
        received: got.toString('latin1'),
        clientRoute,
        local: route.conn.local,
      }),
    };
  }
  for (const a of route.attempts) {
    ctx.emit({
      ...run.at(),
      type: 'upstream-attempt',
      server: a.server,
      address: a.address,
      port: a.port,
      ok: a.ok,
      ...(a.error !== undefined ? { error: a.error } : {}),
    });
  }
  if (!route.conn) {
    const tried = route.attempts.map((a) => `${a.server}: ${a.error ?? 'failed'}`).join('; ');
    return {
      outcome: run.finish({
        reply: null,
        received: '',
        clientRoute,
        error: `no SOCKS server reachable (${tried || 'none listed'})`,
      }),
    };
  }
  return { conn: route.conn, clientRoute };
}

/** The SOCKS exchange with the first hop; a granted CONNECT then converses, a granted BIND waits. */
async function socksThrough(
  ctx: HostProbeContext,
  request: HostProbeRequest,
  run: ProbeRun,
  conn: Conn,
  clientRoute: HostProbeOutcome['clientRoute'],
): Promise<HostProbeOutcome> {
  const withRoute = clientRoute ? { clientRoute } : {};
  ctx.emit({ ...run.at(), type: 'outbound', local: conn.local, remote: conn.remote, via: 'upstream' });
  const local = conn.local;
  let exchange: SocksExchange;
  try {
    exchange = await socksExchange(
      conn,
      {
        protocol: request.protocol,
        command: request.command,
        host: run.target.host,
        port: run.target.port,
        // The USERID: a forged claim when given; the socket stays the owner's (identd says `user`).
        user: request.claim ?? request.user,
        ...(request.credentials ? { credentials: request.credentials } : {}),
      },
      { timeoutMs: run.timeoutMs },
    );
  } catch (err) {
    conn.socket.destroy();
    return run.finish({ reply: null, received: '', local, error: errText(err), ...withRoute });
  }
  const reply = exchange.first.code;
  if (!exchange.first.granted) {
    conn.socket.destroy();
    return run.finish({ reply, received: '', local, ...withRoute });
  }
  if (request.command === 'connect') {
    const got = await converse(conn.socket, exchange.finish(), request.send, run.idleMs, run.echoPatienceMs);
    conn.socket.destroy();
    return run.finish({ reply, received: got.toString('latin1'), local, ...withRoute });
  }
  // The outcome's keys in the order reports have always shown them.
  const bind = await bindPeerThrough(ctx, request, run, conn, exchange);
  return run.finish({
    reply,
    secondReply: bind.secondReply,
    received: bind.received,
    local,
    bound: bind.bound,
    ...withRoute,
    ...(bind.error !== undefined ? { error: bind.error } : {}),
  });
}

/** BIND after the first reply: the bound address (0.0.0.0 = the server's own, d.9), the peer dials it. */
async function bindPeerThrough(
  ctx: HostProbeContext,
  request: HostProbeRequest,
  run: ProbeRun,
  conn: Conn,
  exchange: SocksExchange,
): Promise<{ secondReply: number | null; received: string; bound: Endpoint; error?: string }> {
  const bound: Endpoint =
    exchange.first.endpoint.address === '0.0.0.0'
      ? { address: conn.remote.address, port: exchange.first.endpoint.port }
      : exchange.first.endpoint;
  const peer: BindPeerResult = request.bindPeer && ctx.bindPeer ? await ctx.bindPeer(bound) : {};
  let error = peer.error;
  let secondReply: number | null = null;
  let received = '';
  try {
    const second = await exchange.second();
    secondReply = second.code;
    if (second.granted)
      received = (await converse(conn.socket, exchange.finish(), undefined, run.idleMs)).toString('latin1');
  } catch (err) {
    error ??= errText(err);
  }
  conn.socket.destroy();
  peer.close?.();
  return { secondReply, received, bound, ...(error !== undefined ? { error } : {}) };
}

/** Write `send`, then read until the peer ends, an echo of it came back, or the line goes idle. */
function converse(
  socket: Conn['socket'],
  first: Buffer,
  send: string | undefined,
  idleMs: number,
  echoPatienceMs = idleMs,
): Promise<Buffer> {
  let received = first;
  const want = send === undefined ? 0 : Buffer.byteLength(send);
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', done);
      socket.off('close', done);
      resolve(received);
    };
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(done, ms);
    };
    // While less came back than was sent, a slow or lossy link (a retransmission costs 200 ms
    // or more) may still be delivering it: wait longer before calling the line idle.
    const pending = () => (want > received.length ? Math.max(idleMs, echoPatienceMs) : idleMs);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      // An echo of everything we sent: give the line a moment more, then stop.
      arm(want > 0 && received.length >= want ? Math.min(50, idleMs) : pending());
    };
    socket.on('data', onData);
    socket.once('end', done);
    socket.once('close', done);
    socket.on('error', () => {});
    socket.resume(); // the exchange's reader paused it when it handed over
    if (send !== undefined) socket.write(send);
    arm(pending());
  });
}

/** An error as one line, with its errno code in front when the message lacks it. */
export function errText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  const msg = err instanceof Error ? err.message : String(err);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}
