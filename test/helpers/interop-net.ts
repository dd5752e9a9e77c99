import { createServer, type Server } from 'node:http';
import { connect as tcpConnect } from 'node:net';

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
