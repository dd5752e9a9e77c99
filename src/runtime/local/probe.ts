import { type SocksExchange, socksExchange } from '../../client/handshake.ts';
import { dialByRoute, type RouteDial } from '../../client/route-dial.ts';
import type { Endpoint, EventSink } from '../../common/events.ts';
import type { ClientConfig } from '../../config/ast.ts';
import type { Conn, Net } from '../../net/net.ts';
import type { Resolver, UserFileReader } from '../../policy/resolver.ts';
import type { HostModel, ResolvedTopology } from '../../topology/model.ts';
import type { ProbeOutcome, ProbeRequest } from '../runtime.ts';

/**
 * One probe from inside a host, as a user: the SOCKS client (src/client) on that host's virtual
 * Net, so identd on the origin host attributes the connection to that user. The first hop is
 * `via`, or what the host's socks.conf says (decided by the policy engine, as rsockd does).
 */
export interface ProbeContext {
  readonly topology: ResolvedTopology;
  /** Net of `user` on `host`. */
  netFor(host: string, user: string): Net;
  readonly resolver: Resolver;
  readonly userFiles: UserFileReader;
  /** Parsed client socks.conf of a host (probe --use-socks-conf); null = none. */
  clientConfig(host: string): ClientConfig | null;
  readonly events: EventSink;
}

const DottedQuad = /^\d{1,3}(\.\d{1,3}){3}$/;
const DefaultTimeoutMs = 5000;

function host(topology: ResolvedTopology, name: string): HostModel {
  const h = topology.hosts.find((x) => x.name === name || x.name.toLowerCase() === name.toLowerCase());
  if (!h) {
    throw Object.assign(
      new Error(`unknown host \`${name}\`; hosts: ${topology.hosts.map((x) => x.name).join(', ')}`),
      {
        code: 'E_PROBE_HOST',
      },
    );
  }
  return h;
}

/** The address of `target` that `from` can reach (a shared network), else its first address. */
export function addressFor(topology: ResolvedTopology, from: string, target: string): string {
  if (DottedQuad.test(target)) return target;
  const t = topology.hosts.find((h) => h.name.toLowerCase() === target.toLowerCase());
  if (!t) return target;
  const origin = topology.hosts.find((h) => h.name === from);
  const shared = t.interfaces.find((i) => origin?.interfaces.some((o) => o.network === i.network));
  return (shared ?? t.interfaces[0])?.address ?? target;
}

/** `B`, `B:1080`, `10.1.0.1`, `10.1.0.1:1080` → first hop endpoint in topology terms. */
function parseVia(ctx: ProbeContext, from: string, via: string): Endpoint {
  // `host`, `host:port`, `10.1.0.1:1080`, a bare IPv6 address, or `[2001:db8::1]:1080`.
  const m =
    /^\[(.+)\](?::(\d+))?$/.exec(via) ??
    (via.split(':').length > 2 ? [via, via] : /^(.*?)(?::(\d+))?$/.exec(via));
  const name = m?.[1] ?? via;
  const explicit = m?.[2] !== undefined ? Number(m[2]) : undefined;
  const target = ctx.topology.hosts.find(
    (h) => h.name.toLowerCase() === name.toLowerCase() || h.interfaces.some((i) => i.address === name),
  );
  return { address: addressFor(ctx.topology, from, name), port: explicit ?? target?.server?.port ?? 1080 };
}

interface Collected {
  received: Buffer;
  ended: boolean;
}

/** Write `send`, then read until the peer ends, an echo of it came back, or the line goes idle. */
async function converse(
  socket: Conn['socket'],
  first: Buffer,
  send: string | undefined,
  idleMs: number,
): Promise<Collected> {
  const out: Collected = { received: first, ended: false };
  const want = send === undefined ? 0 : Buffer.byteLength(send);
  await new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout;
    const done = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      resolve();
    };
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(done, ms);
    };
    const onData = (chunk: Buffer) => {
      out.received = Buffer.concat([out.received, chunk]);
      // An echo of everything we sent: give the line a moment more, then stop.
      arm(want > 0 && out.received.length >= want ? Math.min(50, idleMs) : idleMs);
    };
    const onEnd = () => {
      out.ended = true;
      done();
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.on('error', () => {});
    if (send !== undefined) socket.write(send);
    arm(idleMs);
  });
  return out;
}

export async function runProbe(ctx: ProbeContext, request: ProbeRequest): Promise<ProbeOutcome> {
  const started = Date.now();
  const timeoutMs = request.timeoutMs ?? DefaultTimeoutMs;
  const origin = host(ctx.topology, request.from);
  if (!origin.users.some((u) => u.name === request.user)) {
    throw Object.assign(
      new Error(
        `\`${request.user}\` is not a user of ${origin.name}; users: ${origin.users.map((u) => u.name).join(', ')}`,
      ),
      { code: 'E_PROBE_USER' },
    );
  }
  const net = ctx.netFor(origin.name, request.user);
  // SOCKS 4 carries only an address: resolve a topology host name on the client, as clients do.
  const targetHost =
    request.protocol === 'socks4'
      ? addressFor(ctx.topology, origin.name, request.target.host)
      : request.target.host;
  const target = { host: targetHost, port: request.target.port };
  const finish = (o: Omit<ProbeOutcome, 'durationMs' | 'protocol'>): ProbeOutcome => ({
    ...o,
    protocol: request.protocol,
    durationMs: Date.now() - started,
  });

  let conn: Conn | null = null;
  let clientRoute: ProbeOutcome['clientRoute'];
  if (request.via !== undefined && !request.useSocksConf) {
    const first = parseVia(ctx, origin.name, request.via);
    try {
      conn = await net.connect({ host: first.address, port: first.port, timeoutMs });
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
        net,
        resolver: ctx.resolver,
        userFiles: ctx.userFiles,
        socksConf: ctx.clientConfig(origin.name),
        serverPort: 1080,
        connectTimeoutMs: timeoutMs,
      },
      target,
      request.user,
    ).catch((err: unknown) => ({ kind: 'error' as const, error: errText(err) }));
    if (route.kind === 'error') return finish({ reply: null, received: '', error: route.error });
    clientRoute = { action: route.decision.action, line: route.decision.rule?.line ?? null };
    ctx.events.emit({
      t: Date.now(),
      host: origin.name,
      service: 'probe',
      type: 'route',
      action: route.decision.action,
      rule: route.decision.rule,
      servers: route.decision.servers,
      ...(route.decision.shortcut ? { shortcut: route.decision.shortcut } : {}),
    });
    if (route.kind === 'deny')
      return finish({ reply: null, received: '', clientRoute, error: 'denied by socks.conf' });
    if (route.kind === 'direct') {
      ctx.events.emit({
        t: Date.now(),
        host: origin.name,
        service: 'probe',
        type: 'outbound',
        local: route.conn.local,
        remote: route.conn.remote,
        via: 'direct',
      });
      const talk = await converse(route.conn.socket, Buffer.alloc(0), request.send, idle(timeoutMs));
      route.conn.socket.destroy();
      return finish({
        reply: null,
        received: talk.received.toString('latin1'),
        clientRoute,
        local: route.conn.local,
      });
    }
    for (const a of route.attempts) {
      ctx.events.emit({
        t: Date.now(),
        host: origin.name,
        service: 'probe',
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

  ctx.events.emit({
    t: Date.now(),
    host: origin.name,
    service: 'probe',
    type: 'outbound',
    local: conn.local,
    remote: conn.remote,
    via: 'upstream',
  });
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
        user: request.user,
        ...(request.credentials ? { credentials: request.credentials } : {}),
      },
      { timeoutMs },
    );
  } catch (err) {
    conn.socket.destroy();
    return finish({
      reply: null,
      received: '',
      local,
      error: errText(err),
      ...(clientRoute ? { clientRoute } : {}),
    });
  }
  const reply = exchange.first.code;
  if (!exchange.first.granted) {
    conn.socket.destroy();
    return finish({ reply, received: '', local, ...(clientRoute ? { clientRoute } : {}) });
  }
  if (request.command === 'connect') {
    const talk = await converse(conn.socket, exchange.finish(), request.send, idle(timeoutMs));
    conn.socket.destroy();
    return finish({
      reply,
      received: talk.received.toString('latin1'),
      local,
      ...(clientRoute ? { clientRoute } : {}),
    });
  }

  // BIND: the bound address (0.0.0.0 = the server's own address, d.9), then the peer dials it.
  const bound: Endpoint =
    exchange.first.endpoint.address === '0.0.0.0'
      ? { address: conn.remote.address, port: exchange.first.endpoint.port }
      : exchange.first.endpoint;
  let peerConn: Conn | null = null;
  let peerError: string | undefined;
  if (request.bindPeer) {
    const peer = host(ctx.topology, request.bindPeer.from);
    const peerNet = ctx.netFor(peer.name, request.bindPeer.user ?? 'root');
    try {
      peerConn = await peerNet.connect({ host: bound.address, port: bound.port, timeoutMs });
      peerConn.socket.on('error', () => {});
      peerConn.socket.write(request.send ?? `hello from ${peer.name}\n`);
    } catch (err) {
      peerError = `bind peer ${peer.name} could not connect to ${bound.address}:${bound.port}: ${errText(err)}`;
    }
  }
  let secondReply: number | null = null;
  let received = '';
  try {
    const second = await exchange.second();
    secondReply = second.code;
    if (second.granted) {
      const talk = await converse(conn.socket, exchange.finish(), undefined, idle(timeoutMs));
      received = talk.received.toString('latin1');
    }
  } catch (err) {
    peerError ??= errText(err);
  }
  conn.socket.destroy();
  peerConn?.socket.destroy();
  return finish({
    reply,
    secondReply,
    received,
    local,
    bound,
    ...(clientRoute ? { clientRoute } : {}),
    ...(peerError !== undefined ? { error: peerError } : {}),
  });
}

function idle(timeoutMs: number): number {
  return Math.min(300, timeoutMs);
}

function errText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  const msg = err instanceof Error ? err.message : String(err);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}
