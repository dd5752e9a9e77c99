import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { ExecutionContext } from 'ava';
import type { Clock } from '../../../src/common/clock.ts';
import type { LabEvent } from '../../../src/common/events.ts';
import type { Resolver } from '../../../src/common/resolver.ts';
import type { IdentdMode } from '../../../src/config/ast.ts';
import { parseSockdConf } from '../../../src/config/sockd-conf.ts';
import { parseSockdRoute } from '../../../src/config/sockd-route.ts';
import { parseSocksConf } from '../../../src/config/socks-conf.ts';
import { parseUserFile, type UserFileReader } from '../../../src/config/user-file.ts';
import type { Net } from '../../../src/net/net.ts';
import { productionNet } from '../../../src/net/production-net.ts';
import { decodeSocks4Reply, encodeSocks4Request } from '../../../src/protocol/socks4.ts';
import type { IdentdClient } from '../../../src/server/identd-query.ts';
import type { CommandRunner, ServerOptions, ServerRules, Timers } from '../../../src/server/options.ts';
import { TableResolver } from '../../../src/server/resolvers.ts';
import { SocksServer } from '../../../src/server/server.ts';
import type { AsyncUserFileReader } from '../../../src/server/user-files.ts';

/**
 * Test plumbing for the server over real sockets on 127.0.0.0/8: an address allocator (each
 * test file draws from its own random 127.x.y.0/24 so parallel files never collide), echo and
 * fake upstream servers, a SOCKS 4 client, and a server factory that records classic log lines
 * and events.
 */

/**
 * The Net the servers under test run on: production's (bare libuv handles), or node:net with
 * SOCKSLAB_SERVER_NET=node, so the whole suite can be run against either.
 */
export const serverNet: Net = productionNet(process.env.SOCKSLAB_SERVER_NET === 'node' ? 'node' : 'uv');

const fileBase = { b: 20 + Math.floor(Math.random() * 200), c: Math.floor(Math.random() * 250) };
let nextHost = 2;

/** A fresh loopback address, distinct within this test file's process. */
export function freshAddress(): string {
  if (nextHost > 250) {
    nextHost = 2;
    fileBase.c = (fileBase.c + 1) % 250;
  }
  return `127.${fileBase.b}.${fileBase.c}.${nextHost++}`;
}

/** A high port shared by servers on distinct addresses (upstreamPort / identdPort). */
export function randomPort(): number {
  return 20000 + Math.floor(Math.random() * 40000);
}

export interface Recorded {
  readonly logs: string[];
  readonly events: LabEvent[];
}

export interface TestServer extends Recorded {
  readonly server: SocksServer;
  readonly host: string;
  readonly port: number;
  readonly commands: string[];
}

export interface ServerSpec {
  readonly mode?: 'rsockd' | 'sockd';
  readonly host?: string;
  readonly port?: number;
  /** sockd.conf text, or null for "missing file". */
  readonly sockdConf: string | null;
  readonly socksConf?: string | null;
  readonly route?: string | null;
  readonly identdDefault?: IdentdMode;
  readonly identdPort?: number;
  readonly timers?: Partial<Timers>;
  readonly hosts?: string;
  readonly upstreamPort?: number;
  readonly defaultServer?: string;
  readonly socks5?: boolean;
  readonly socks5Auth?: 'optional' | 'required';
  readonly passwd?: string;
  readonly commands?: CommandRunner;
  readonly userFiles?: Record<string, string>;
  readonly multihomed?: boolean;
  readonly label?: string;
  /** The event types the recording sink says it reads (absent: every type). */
  readonly eventTypes?: readonly LabEvent['type'][];
  readonly net?: Net;
  readonly resolver?: Resolver;
  readonly userFilesAsync?: AsyncUserFileReader;
  readonly routeConnect?: boolean;
  readonly maxSessions?: number;
  readonly identd?: IdentdClient;
  readonly maxSessionsPerSource?: number;
  readonly maxHandshakes?: number;
  readonly maxHandshakesPerSource?: number;
  readonly stuckCheckMs?: number;
  readonly keepAliveMs?: number;
  readonly onQuiet?: (stillQuiet: () => boolean) => void;
  readonly clock?: Clock;
}

export function rulesFrom(spec: Pick<ServerSpec, 'sockdConf' | 'socksConf' | 'route'>): ServerRules {
  return {
    server:
      spec.sockdConf === null
        ? { unusable: ['Unable to open config file (/test/sockd.conf)'] }
        : parseSockdConf(spec.sockdConf, { file: '/test/sockd.conf' }),
    client:
      spec.socksConf === undefined || spec.socksConf === null
        ? null
        : parseSocksConf(spec.socksConf, { file: '/test/socks.conf' }),
    route:
      spec.route === undefined || spec.route === null
        ? null
        : parseSockdRoute(spec.route, { file: '/test/sockd.route' }),
  };
}

/** Records commands instead of running a shell (the lab does the same). */
export function recordingRunner(into: string[]): CommandRunner {
  return {
    async run(command) {
      into.push(command);
      return { status: 'ran', exitCode: 0 };
    },
  };
}

/** Every command takes `ms` and succeeds: keeps a session in its decision while the client acts. */
export function slowRunner(ms: number): CommandRunner {
  return {
    run: () => new Promise((resolve) => setTimeout(() => resolve({ status: 'ran', exitCode: 0 }), ms)),
  };
}

export async function startServer(t: ExecutionContext, spec: ServerSpec): Promise<TestServer> {
  const logs: string[] = [];
  const events: LabEvent[] = [];
  const commands: string[] = [];
  const files = spec.userFiles ?? {};
  const userFiles: UserFileReader = (path) =>
    path in files
      ? { ok: true, names: parseUserFile(files[path]!) }
      : { ok: false, error: 'No such file or directory' };
  const host = spec.host ?? freshAddress();
  const options: ServerOptions = {
    mode: spec.mode ?? 'sockd',
    net: spec.net ?? serverNet,
    listen: { host, port: spec.port ?? 0 },
    rules: rulesFrom(spec),
    identdDefault: spec.identdDefault ?? 'off',
    identdPort: spec.identdPort ?? 113,
    socks5: spec.socks5 ?? false,
    ...(spec.socks5Auth ? { socks5Auth: spec.socks5Auth } : {}),
    passwd: spec.passwd ? { file: '/test/sockd.passwd', text: spec.passwd } : null,
    resolver: spec.resolver ?? new TableResolver(spec.hosts ?? ''),
    userFiles,
    ...(spec.userFilesAsync ? { userFilesAsync: spec.userFilesAsync } : {}),
    ...(spec.routeConnect !== undefined ? { routeConnect: spec.routeConnect } : {}),
    ...(spec.maxSessions !== undefined ? { maxSessions: spec.maxSessions } : {}),
    ...(spec.onQuiet !== undefined ? { onQuiet: spec.onQuiet } : {}),
    ...(spec.clock !== undefined ? { clock: spec.clock } : {}),
    ...(spec.identd !== undefined ? { identd: spec.identd } : {}),
    ...(spec.maxSessionsPerSource !== undefined ? { maxSessionsPerSource: spec.maxSessionsPerSource } : {}),
    ...(spec.maxHandshakes !== undefined ? { maxHandshakes: spec.maxHandshakes } : {}),
    ...(spec.maxHandshakesPerSource !== undefined
      ? { maxHandshakesPerSource: spec.maxHandshakesPerSource }
      : {}),
    ...(spec.stuckCheckMs !== undefined ? { stuckCheckMs: spec.stuckCheckMs } : {}),
    ...(spec.keepAliveMs !== undefined ? { keepAliveMs: spec.keepAliveMs } : {}),
    events: {
      emit: (e) => events.push(e),
      ...(spec.eventTypes ? { types: new Set(spec.eventTypes) } : {}),
    },
    log: { write: (_level, message) => logs.push(message) },
    // Shorter than production's so a hung test ends, yet long enough for a loaded CI machine: an
    // event loop held up for longer than a timer can run that timer before the I/O it was waiting
    // for (timers come first in a loop turn), so 2-3 s once timed out an identd, an upstream or a
    // request that had in fact answered. Tests of a timer set their own.
    timers: {
      requestRead: 10_000,
      establish: 10_000,
      identd: 10_000,
      upstreamConnect: 10_000,
      ...spec.timers,
    },
    commands: spec.commands ?? recordingRunner(commands),
    ...(spec.upstreamPort !== undefined ? { upstreamPort: spec.upstreamPort } : {}),
    ...(spec.defaultServer !== undefined ? { defaultServer: spec.defaultServer } : {}),
    ...(spec.multihomed !== undefined ? { multihomed: spec.multihomed } : {}),
    ...(spec.label !== undefined ? { hostLabel: spec.label } : {}),
  };
  const server = new SocksServer(options);
  const listener = await server.start();
  t.teardown(() => server.close({ drain: false }));
  return { server, host, port: listener.local.port, logs, events, commands };
}

/** An echo server: returns every byte; ends its side when the peer ends. */
export async function startEcho(
  t: ExecutionContext,
  host = freshAddress(),
  port = 0,
): Promise<{ host: string; port: number; server: Server }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const a = server.address();
  return { host, port: typeof a === 'object' && a ? a.port : port, server };
}

export interface Socks4Result {
  readonly socket: Socket;
  /** The client's own address (captured at connect: it is gone from the socket once closed). */
  readonly from: string;
  readonly reply: { code: number; port: number; address: string } | null;
  /** Bytes after the reply that arrived with it. */
  readonly rest: Buffer;
}

export interface ClientSpec {
  readonly proxy: { host: string; port: number };
  readonly command?: 'connect' | 'bind';
  readonly dst: string;
  readonly port: number;
  readonly user?: string;
  readonly hostname?: string;
  /** Bind the client to this local address (identd tests). */
  readonly from?: string;
  /** Bytes sent right after the request, in the same write (early payload). */
  readonly early?: Buffer;
  readonly raw?: Buffer;
  /** How long to wait for the reply (default 10 s; process-per-connection tests need more). */
  readonly replyTimeoutMs?: number;
}

export function connectTcp(host: string, port: number, from?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host, port, allowHalfOpen: true, ...(from ? { localAddress: from } : {}) });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/**
 * Read exactly n bytes (or fewer if the peer closes); resolves with what came. The default bound
 * is generous: it only matters when the bytes never come, and a loaded CI machine can take
 * seconds to deliver a reply that an idle one delivers in a millisecond.
 */
export function readBytes(socket: Socket, n: number, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const done = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', done);
      socket.off('close', done);
      socket.pause();
      resolve(buf);
    };
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= n) {
        const extra = buf.subarray(n);
        buf = buf.subarray(0, n);
        done();
        if (extra.length > 0) socket.unshift(extra);
      }
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', onData);
    socket.once('end', done);
    socket.once('close', done);
    socket.resume();
  });
}

/** Resolves true when the socket closes (or ends) within the time, false otherwise. */
export function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed || socket.readableEnded) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    const yes = () => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once('close', yes);
    socket.once('end', yes);
    socket.resume();
  });
}

export async function socks4(spec: ClientSpec): Promise<Socks4Result> {
  const socket = await connectTcp(spec.proxy.host, spec.proxy.port, spec.from);
  socket.on('error', () => {});
  const req =
    spec.raw ??
    encodeSocks4Request({
      command: spec.command ?? 'connect',
      port: spec.port,
      address: spec.hostname !== undefined ? '0.0.0.1' : spec.dst,
      ...(spec.hostname !== undefined ? { hostname: spec.hostname } : {}),
      user: spec.user ?? '',
    });
  const from = socket.localAddress ?? '';
  socket.write(spec.early ? Buffer.concat([req, spec.early]) : req);
  const bytes = await readBytes(socket, 8, spec.replyTimeoutMs ?? 10_000);
  if (bytes.length < 8) return { socket, from, reply: null, rest: Buffer.alloc(0) };
  const r = decodeSocks4Reply(bytes);
  if (!('value' in r)) return { socket, from, reply: null, rest: Buffer.alloc(0) };
  return {
    socket,
    from,
    reply: { code: r.value.code, port: r.value.port, address: r.value.address },
    rest: Buffer.alloc(0),
  };
}

/** Send `payload` through an established session and read the same number of bytes back. */
export async function echoThrough(socket: Socket, payload: Buffer): Promise<Buffer> {
  socket.write(payload);
  return readBytes(socket, payload.length);
}

/** The health check every fault test ends with: a fresh client still gets through. */
export async function assertServes(
  t: ExecutionContext,
  proxy: { host: string; port: number },
  echo: { host: string; port: number },
  extra: Partial<ClientSpec> = {},
): Promise<void> {
  const r = await socks4({ proxy, dst: echo.host, port: echo.port, user: 'probe', ...extra });
  t.is(r.reply?.code, 90, 'a second client is served');
  const msg = Buffer.from(`ping ${Math.random()}`);
  t.deepEqual(await echoThrough(r.socket, msg), msg);
  r.socket.destroy();
}

/**
 * Polls `fn` until it gives a value. The default bound (10 s) is for a loaded CI machine: it only
 * costs time when the condition never holds, and then the test fails.
 */
export async function waitFor<T>(fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`waitFor: condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function waitForLog(
  s: Recorded,
  predicate: (line: string) => boolean,
  timeoutMs = 10_000,
): Promise<string> {
  return waitFor(() => s.logs.find(predicate), timeoutMs).catch(() => {
    throw new Error(`log line not found within ${timeoutMs} ms; log:\n${s.logs.join('\n')}`);
  });
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}
