import type { EventEmitter } from 'node:events';
import type { Endpoint } from '../common/events.ts';

/**
 * The part of a connected TCP stream the server, identd client and probes use. node:net's Socket
 * has exactly this shape (the local runtime and inetd mode hand those out); production uses the
 * lighter UvSocket (net/uv-socket.ts), which keeps per-connection cost down. Semantics are
 * net.Socket's with `allowHalfOpen`: 'data' listeners start reading unless paused, 'end' is the
 * peer's EOF, `end()` half-closes, and 'close' comes once both directions are done or after
 * `destroy()`.
 */
export interface ByteStream extends EventEmitter {
  write(data: Uint8Array | string, cb?: (err?: Error | null) => void): boolean;
  write(data: Uint8Array | string, encoding: BufferEncoding, cb?: (err?: Error | null) => void): boolean;
  end(data?: Uint8Array | string, encoding?: BufferEncoding): this;
  destroy(error?: Error): this;
  /** Close with RST instead of FIN (the peer reads ECONNRESET): for sessions cut short. */
  resetAndDestroy(): this;
  /** TCP keepalive; `initialDelay` in ms (whole seconds are used). */
  setKeepAlive(enable?: boolean, initialDelay?: number): this;
  pause(): this;
  resume(): this;
  setTimeout(ms: number, callback?: () => void): this;
  setNoDelay(noDelay?: boolean): this;
  readonly destroyed: boolean;
  /** The socket is closed for good (node:net sets this just before 'close', UvSocket as it emits it). */
  readonly closed: boolean;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly writableLength: number;
  readonly readableEnded: boolean;
  readonly writableEnded: boolean;
  readonly writableFinished: boolean;
  /** The real peer (not translated: use Conn.remote for this Net's terms). */
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}

/**
 * An optional ByteStream capability (UvSocket has it): reads land in the caller's buffer instead
 * of a fresh one per read. `onRead(n)` gets each read's byte count and returns the buffer for the
 * next read (the same one once consumed); to wait, it calls `pause()` and `resume()` later.
 */
export interface IntoBufferReadable {
  readInto(buffer: Uint8Array, onRead: (bytes: number) => Uint8Array): boolean;
}

export function canReadInto(stream: ByteStream): stream is ByteStream & IntoBufferReadable {
  return typeof (stream as Partial<IntoBufferReadable>).readInto === 'function';
}

export interface Conn {
  /** The real byte stream. Its own address getters are in the real address space: use `local`/`remote`. */
  readonly socket: ByteStream;
  /** Our end, in this Net's address space. */
  readonly local: Endpoint;
  /** The peer, in this Net's address space. */
  readonly remote: Endpoint;
}

export interface ListenOptions {
  readonly host: string;
  /** 0 = ephemeral */
  readonly port: number;
  readonly backlog?: number;
  /** TCP keepalive on every accepted connection, first probe after this much silence (ms). */
  readonly keepAliveMs?: number;
  /**
   * Accept failures (EMFILE, ENFILE, …): the listener goes on; this hears of each one. libuv
   * accepts and closes what is waiting when descriptors run out, so clients are not left hanging.
   */
  readonly onAcceptError?: (err: NodeJS.ErrnoException) => void;
}

export interface Listener {
  /** The bound address in this Net's terms (port resolved when 0 was asked). */
  readonly local: Endpoint;
  close(): Promise<void>;
}

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  /** Bind the outbound socket to this local address first (identd queries, route-connect). */
  readonly localAddress?: string;
  readonly timeoutMs?: number;
}

/**
 * The Net port (design.md): the server never calls node:net directly. Production uses UvNet
 * (bare libuv handles, uv-net.ts) or, on request or as a fallback, NodeNet (node:net); cluster
 * workers use a mixed Net that accepts via node:net (the only way node:cluster shares a listener)
 * and dials via bare handles (production-net.ts). The local runtime gives each virtual host a Net
 * that maps topology addresses onto loopback addresses, reports peers back in topology terms, and
 * refuses connections the topology does not allow with the error a real network would give.
 *
 * Errors from `connect` are NodeJS.ErrnoException-like with `code` ECONNREFUSED, ETIMEDOUT,
 * ENETUNREACH, EHOSTUNREACH, … so callers map them to replies and log texts in one place.
 */
export interface Net {
  listen(options: ListenOptions, onConnection: (conn: Conn) => void): Promise<Listener>;
  connect(options: ConnectOptions): Promise<Conn>;
}
