import { createServer, type Server } from 'node:http';
import { type Socket, connect as tcpConnect } from 'node:net';

/**
 * Loopback plumbing for the interop tests: distinct 127.x.y.z addresses per test file, free
 * ports, a tiny HTTP server that remembers who connected, and a wait for a TCP listener.
 */

// 220..254 for the second byte keeps clear of the in-process server tests (20..219) and of the
// local runtime's 127.10.x mapping; the third byte is random per test-file process.
const base = { b: 220 + Math.floor(Math.random() * 35), c: Math.floor(Math.random() * 250) };
let nextHost = 2;

/** A loopback address no other test of this file uses. */
export function freshAddress(): string {
  if (nextHost > 250) {
    nextHost = 2;
    base.c = (base.c + 1) % 250;
  }
  return `127.${base.b}.${base.c}.${nextHost++}`;
}

/**
 * A port for a listener on one of our own addresses (so it cannot clash with anyone else's
 * listener). Below the kernel's ephemeral range, so no outgoing socket holds it.
 */
export function listenPort(): number {
  return 20000 + Math.floor(Math.random() * 12000);
}

export interface HttpTarget {
  readonly host: string;
  readonly port: number;
  /** The body every GET answers with (unique per server). */
  readonly body: string;
  /** Remote addresses of the connections it accepted, in order. */
  readonly peers: string[];
  close(): Promise<void>;
}

/** An HTTP server on `host` answering every request with a body unique to it. */
export async function startHttpTarget(host: string): Promise<HttpTarget> {
  const body = `interop target ${host} ${Math.random().toString(36).slice(2)}\n`;
  const peers: string[] = [];
  const server: Server = createServer((req, res) => {
    // A fixed length, not chunked: the bytes on the wire are then exactly header + body.
    res.writeHead(200, {
      'content-type': 'text/plain',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.on('connection', (s) => peers.push(s.remoteAddress ?? ''));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    host,
    port,
    body,
    peers,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Resolves once something accepts TCP connections on host:port; rejects after `timeoutMs`. */
export async function waitListening(
  host: string,
  port: number,
  timeoutMs: number,
  alive: () => string | null = () => null,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    const dead = alive();
    if (dead) throw new Error(dead);
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

export interface Socks4Reply {
  /** CD: 90 granted, 91 refused/failed, 92 no identd, 93 identd mismatch. */
  readonly code: number;
  readonly address: string;
  readonly port: number;
}

/** A raw SOCKS 4 client connection: the request is sent; replies and data are read from it. */
export interface RawSocks4 {
  readonly socket: Socket;
  /** The next 8-byte reply, or null if the server closed first or `timeoutMs` passed. */
  reply(timeoutMs?: number): Promise<Socks4Reply | null>;
  /** Bytes that arrive after the replies, until `n` are there (or the timeout). */
  read(n: number, timeoutMs?: number): Promise<Buffer>;
  close(): void;
}

/**
 * Open a SOCKS 4 session by hand (bytes of spec b.1, written here independently of the
 * project's codec): CONNECT (1) or BIND (2) to `dst`, with `user` as USERID.
 */
export async function rawSocks4(
  proxy: { host: string; port: number },
  from: string,
  command: 1 | 2,
  dst: { host: string; port: number },
  user: string,
): Promise<RawSocks4> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = tcpConnect({ host: proxy.host, port: proxy.port, localAddress: from });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  socket.on('error', () => {});
  let buffered = Buffer.alloc(0);
  let ended = false;
  const wake = new Set<() => void>();
  socket.on('data', (c: Buffer) => {
    buffered = Buffer.concat([buffered, c]);
    for (const w of wake) w();
  });
  socket.on('close', () => {
    ended = true;
    for (const w of wake) w();
  });
  const take = (n: number, timeoutMs: number, partial: boolean): Promise<Buffer | null> =>
    new Promise((resolve) => {
      const check = () => {
        if (buffered.length >= n || ended) {
          done();
          const got = buffered.subarray(0, Math.min(n, buffered.length));
          buffered = buffered.subarray(got.length);
          resolve(got.length === n || partial ? got : null);
        }
      };
      const timer = setTimeout(() => {
        done();
        const got = buffered.subarray(0, Math.min(n, buffered.length));
        buffered = buffered.subarray(got.length);
        resolve(partial ? got : null);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        wake.delete(check);
      };
      wake.add(check);
      check();
    });
  const head = Buffer.alloc(8);
  head[0] = 4; // VN
  head[1] = command; // CD
  head.writeUInt16BE(dst.port, 2);
  for (const [i, octet] of dst.host.split('.').entries()) head[4 + i] = Number(octet);
  socket.write(Buffer.concat([head, Buffer.from(user, 'latin1'), Buffer.from([0])]));
  return {
    socket,
    async reply(timeoutMs = 20_000) {
      const r = await take(8, timeoutMs, false);
      if (!r) return null;
      return { code: r[1]!, port: r.readUInt16BE(2), address: [...r.subarray(4, 8)].join('.') };
    },
    async read(n, timeoutMs = 20_000) {
      return (await take(n, timeoutMs, true)) ?? Buffer.alloc(0);
    },
    close: () => socket.destroy(),
  };
}
