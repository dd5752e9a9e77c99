import { readFileSync } from 'node:fs';
import { type SocksExchange, socksExchange } from '../../../client/handshake.ts';
import { dialByRoute, type RouteDial, type RouteDialContext } from '../../../client/route-dial.ts';
import type { Endpoint, LabEvent } from '../../../common/events.ts';
import type { ClientConfig } from '../../../config/ast.ts';
import { parseSocksConf } from '../../../config/socks-conf.ts';
import type { Conn, Net } from '../../../net/net.ts';
import type { ProbeOutcome, ProbeRequest } from '../../runtime.ts';
import type { Directory } from '../host-spec.ts';

/**
 * One client request from inside a host container, as the user the exec runs as: the SOCKS
 * client of src/client on the container's real network stack, so the origin's identd finds this
 * process's uid in /proc/net/tcp. Same observable behaviour as the local runtime's probe (first
 * hop from `via` or socks.conf, the same events, the same outcome fields). For BIND the peer is
 * another container: `onBound` tells the driver where to have it connect.
 */

export interface ContainerProbeContext {
  readonly net: Net;
  readonly host: string;
  readonly directory: Directory;
  /** socks.conf text of this host for `--use-socks-conf`, or null. */
  readonly socksConfText: string | null;
  readonly emit: (event: LabEvent) => void;
  readonly onBound: (bound: Endpoint) => void;
  readonly readFile?: (path: string) => string;
}

const dottedQuad = /^\d{1,3}(\.\d{1,3}){3}$/;
const defaultTimeoutMs = 5_000;

/** The address of `target` on a network `from` shares with it, else its first address. */
export function addressIn(directory: Directory, from: string, target: string): string {
  if (dottedQuad.test(target)) return target;
  const t = directory.find((h) => h.name.toLowerCase() === target.toLowerCase());
  if (!t) return target;
  const origin = directory.find((h) => h.name === from);
  const shared = t.interfaces.find((i) => origin?.interfaces.some((o) => o.network === i.network));
  return (shared ?? t.interfaces[0])?.address ?? target;
}

/** `B`, `B:1080`, `10.1.0.1`, `10.1.0.1:1080` → the first hop. */
function firstHop(directory: Directory, from: string, via: string): Endpoint {
  const m = /^(.*?)(?::(\d+))?$/.exec(via);
  const name = m?.[1] ?? via;
  const host = directory.find(
    (h) => h.name.toLowerCase() === name.toLowerCase() || h.interfaces.some((i) => i.address === name),
  );
  const port = m?.[2] !== undefined ? Number(m[2]) : (host?.serverPort ?? 1080);
  return { address: addressIn(directory, from, name), port };
}

/** The topology's host table as the client's resolver (never real DNS). */
export function directoryResolver(directory: Directory): RouteDialContext['resolver'] {
  const forward = new Map<string, string[]>();
  const reverse = new Map<string, string[]>();
  for (const h of directory) {
    const key = h.name.toLowerCase();
    forward.set(key, [...(forward.get(key) ?? []), ...h.interfaces.map((i) => i.address)]);
    for (const i of h.interfaces) reverse.set(i.address, [h.name]);
  }
  return {
    forward: async (name) => forward.get(name.toLowerCase()) ?? [],
    reverse: async (address) => reverse.get(address) ?? [],
  };
}

/** User files named in socks.conf, read from this container (c.8 syntax: blanks or commas, # comments). */
function userFileReader(read: (path: string) => string): RouteDialContext['userFiles'] {
  return (path) => {
    let text: string;
    try {
      text = read(path);
    } catch {
      return { ok: false, error: 'No such file or directory' };
    }
    const names: string[] = [];
    for (const raw of text.split('\n')) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      const hash = line.indexOf('#');
      for (const n of (hash < 0 ? line : line.slice(0, hash)).split(/[ \t,]+/)) if (n) names.push(n);
    }
    return { ok: true, names };
  };
}

function clientConfig(text: string | null): ClientConfig | null {
  if (text === null) return null;
  try {
    return parseSocksConf(text, { file: 'socks.conf' });
  } catch {
    return null;
  }
}

function errText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  const msg = err instanceof Error ? err.message : String(err);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

/** Send `send`, then read until the peer ends, the echo of it is complete, or the line idles. */
function converse(
  socket: Conn['socket'],
  first: Buffer,
  send: string | undefined,
  idleMs: number,
): Promise<Buffer> {
  let received = first;
  const want = send === undefined ? 0 : Buffer.byteLength(send);
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      if (timer) clearTimeout(timer);
      socket.off('data', onData);
      resolve(received);
    };
    const arm = (ms: number) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(done, ms);
    };
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      arm(want > 0 && received.length >= want ? Math.min(50, idleMs) : idleMs);
    };
    socket.on('data', onData);
    socket.once('end', done);
    socket.once('close', done);
    socket.on('error', () => {});
    if (send !== undefined) socket.write(send);
    arm(idleMs);
  });
}

export async function containerProbe(
  ctx: ContainerProbeContext,
  request: ProbeRequest,
): Promise<ProbeOutcome> {
  const started = Date.now();
  const timeoutMs = request.timeoutMs ?? defaultTimeoutMs;
  const idleMs = Math.min(300, timeoutMs);
  const at = () => ({ t: Date.now(), host: ctx.host, service: 'probe' as const });
  // SOCKS 4 carries only an address: the client resolves a topology host name itself.
  const targetHost =
    request.protocol === 'socks4'
      ? addressIn(ctx.directory, ctx.host, request.target.host)
      : request.target.host;
  const target = { host: targetHost, port: request.target.port };
  const finish = (o: Omit<ProbeOutcome, 'durationMs' | 'protocol'>): ProbeOutcome => ({
    ...o,
    protocol: request.protocol,
    durationMs: Date.now() - started,
  });

  let conn: Conn;
  let clientRoute: ProbeOutcome['clientRoute'];
  if (request.via !== undefined && !request.useSocksConf) {
    const hop = firstHop(ctx.directory, ctx.host, request.via);
    try {
      conn = await ctx.net.connect({ host: hop.address, port: hop.port, timeoutMs });
    } catch (err) {
      return finish({
        reply: null,
        received: '',
        error: `connect to ${hop.address}:${hop.port}: ${errText(err)}`,
      });
    }
  } else {
    const route: RouteDial | { kind: 'error'; error: string } = await dialByRoute(
      {
        net: ctx.net,
        resolver: directoryResolver(ctx.directory),
        userFiles: userFileReader(ctx.readFile ?? ((p) => readFileSync(p, 'utf8'))),
        socksConf: clientConfig(ctx.socksConfText),
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
      const got = await converse(route.conn.socket, Buffer.alloc(0), request.send, idleMs);
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
        user: request.user,
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
    const got = await converse(conn.socket, exchange.finish(), request.send, idleMs);
    conn.socket.destroy();
    return finish({ reply, received: got.toString('latin1'), local, ...withRoute });
  }

  // BIND: 0.0.0.0 in the first reply means the server's own address (d.9).
  const bound: Endpoint =
    exchange.first.endpoint.address === '0.0.0.0'
      ? { address: conn.remote.address, port: exchange.first.endpoint.port }
      : exchange.first.endpoint;
  if (request.bindPeer) ctx.onBound(bound);
  let secondReply: number | null = null;
  let received = '';
  let error: string | undefined;
  try {
    const second = await exchange.second();
    secondReply = second.code;
    if (second.granted)
      received = (await converse(conn.socket, exchange.finish(), undefined, idleMs)).toString('latin1');
  } catch (err) {
    error = errText(err);
  }
  conn.socket.destroy();
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
