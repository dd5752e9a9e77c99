import type { Endpoint, LabEvent } from '../common/events.ts';
import type { HostProbeOutcome, HostProbeRequest } from '../common/probe.ts';
import type { ClientConfig } from '../config/ast.ts';
import type { Conn, Net } from '../net/net.ts';
import type { Resolver, UserFileReader } from '../policy/resolver.ts';
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

export async function probeFromHost(
  ctx: HostProbeContext,
  request: HostProbeRequest,
): Promise<HostProbeOutcome> {
  const started = Date.now();
  const timeoutMs = request.timeoutMs ?? DefaultTimeoutMs;
  const idleMs = Math.min(300, timeoutMs);
  const echoPatienceMs = Math.min(2_000, timeoutMs);
  const at = () => ({ t: Date.now(), host: ctx.origin, service: 'probe' as const });
  // SOCKS 4 carries only an address: resolve a topology host name on the client, as clients do.
  const targetHost =
    request.protocol === 'socks4' ? ctx.hosts.address(request.target.host) : request.target.host;
  const target = { host: targetHost, port: request.target.port };
  const finish = (o: Omit<HostProbeOutcome, 'durationMs' | 'protocol'>): HostProbeOutcome => ({
    ...o,
    protocol: request.protocol,
    durationMs: Date.now() - started,
  });
  // A SOCKS 4 client that cannot resolve the name here sends nothing (gethostbyname failed).
  if (request.protocol === 'socks4' && !/^\d{1,3}(\.\d{1,3}){3}$/.test(targetHost)) {
    return finish({ reply: null, received: '', error: `cannot resolve ${targetHost} on ${ctx.origin}` });
  }

  let conn: Conn;
  let clientRoute: HostProbeOutcome['clientRoute'];
  if (request.via !== undefined && !request.useSocksConf) {
    const first = firstHop(ctx.hosts, request.via);
    try {
      conn = await ctx.net.connect({ host: first.address, port: first.port, timeoutMs });
    } catch (err) {
      return finish({
        reply: null,
        received: '',
        error: `connect to ${first.address}:${first.port}: ${errText(err)}`,
      });
    }
  } else {
    const route: RouteDial | { kind: 'error'; error: string } = await dialByRoute(
      {
        net: ctx.net,
        resolver: ctx.resolver,
        userFiles: ctx.userFiles,
        socksConf: ctx.socksConf,
        serverPort: 1080,
        connectTimeoutMs: timeoutMs,
      },
      target,
      request.user,
    ).catch((err: unknown) => ({ kind: 'error' as const, error: errText(err) }));
    if (route.kind === 'error') return finish({ reply: null, received: '', error: route.error });
    const d = route.decision;
    clientRoute = { action: d.action, line: d.rule?.line ?? null };
    ctx.emit({
      ...at(),
      type: 'route',
      action: d.action,
      rule: d.rule,
      servers: d.servers,
      ...(d.shortcut ? { shortcut: d.shortcut } : {}),
    });
    if (route.kind === 'deny')
      return finish({ reply: null, received: '', clientRoute, error: 'denied by socks.conf' });
    if (route.kind === 'direct') {
      ctx.emit({
        ...at(),
        type: 'outbound',
        local: route.conn.local,
        remote: route.conn.remote,
        via: 'direct',
      });
      const got = await converse(route.conn.socket, Buffer.alloc(0), request.send, idleMs, echoPatienceMs);
      route.conn.socket.destroy();
      return finish({ reply: null, received: got.toString('latin1'), clientRoute, local: route.conn.local });
    }
    for (const a of route.attempts) {
      ctx.emit({
        ...at(),
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
      return finish({
        reply: null,
        received: '',
        clientRoute,
        error: `no SOCKS server reachable (${tried || 'none listed'})`,
      });
    }
    conn = route.conn;
  }

  const withRoute = clientRoute ? { clientRoute } : {};
  ctx.emit({ ...at(), type: 'outbound', local: conn.local, remote: conn.remote, via: 'upstream' });
  const local = conn.local;
  let exchange: SocksExchange;
  try {
    exchange = await socksExchange(
      conn,
      {
        protocol: request.protocol,
        command: request.command,
        host: target.host,
        port: target.port,
        // The USERID: a forged claim when given; the socket stays the owner's (identd says `user`).
        user: request.claim ?? request.user,
        ...(request.credentials ? { credentials: request.credentials } : {}),
      },
      { timeoutMs },
    );
  } catch (err) {
    conn.socket.destroy();
    return finish({ reply: null, received: '', local, error: errText(err), ...withRoute });
  }
  const reply = exchange.first.code;
  if (!exchange.first.granted) {
    conn.socket.destroy();
    return finish({ reply, received: '', local, ...withRoute });
  }
  if (request.command === 'connect') {
    const got = await converse(conn.socket, exchange.finish(), request.send, idleMs, echoPatienceMs);
    conn.socket.destroy();
    return finish({ reply, received: got.toString('latin1'), local, ...withRoute });
  }

  // BIND: the bound address (0.0.0.0 = the server's own address, d.9), then the peer dials it.
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
      received = (await converse(conn.socket, exchange.finish(), undefined, idleMs)).toString('latin1');
  } catch (err) {
    error ??= errText(err);
  }
  conn.socket.destroy();
  peer.close?.();
  return finish({
    reply,
    secondReply,
    received,
    local,
    bound,
    ...withRoute,
    ...(error !== undefined ? { error } : {}),
  });
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
