/**
 * Typed access to the libuv TCP handles that node:net is built on (Node's `tcp_wrap` and
 * `stream_wrap` bindings). net.Socket wraps each handle in a Duplex stream with two buffers' worth
 * of state, and that wrapper is most of a relayed connection's memory and much of its accept →
 * connect → close CPU. UvSocket (uv-socket.ts) drives the same handles with only what a SOCKS
 * server needs. The bindings are internal to Node: `loadUvBindings` checks every member it uses
 * and returns null when one is missing, and the caller falls back to node:net; `uvBindingsProblem`
 * then says why, for the one log line about it.
 */

/** A `stream_wrap` request (WriteWrap, ShutdownWrap) or `tcp_wrap` TCPConnectWrap. */
export interface UvRequest {
  handle?: TcpHandle | undefined;
  oncomplete?: (status: number) => void;
  [key: string]: unknown;
}

export interface SockAddr {
  address?: string;
  port?: number;
  family?: string;
}

/** The handle methods used; each returns 0 or a negative libuv error number. */
export interface TcpHandle {
  onread: ((arrayBuffer: ArrayBuffer | undefined) => Uint8Array | undefined) | null;
  onconnection: ((status: number, client: TcpHandle | undefined) => void) | null;
  /** Set by us: the UvSocket or listener that owns the handle (one shared callback per kind). */
  owner: unknown;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: UvRequest, data: Uint8Array): number;
  writeUtf8String(req: UvRequest, data: string): number;
  writeLatin1String(req: UvRequest, data: string): number;
  shutdown(req: UvRequest): number;
  close(callback?: () => void): void;
  setNoDelay(on: boolean): number;
  getsockname(out: SockAddr): number;
  getpeername(out: SockAddr): number;
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  listen(backlog: number): number;
  connect(req: UvRequest, address: string, port: number): number;
  connect6(req: UvRequest, address: string, port: number): number;
  useUserBuffer(buffer: Uint8Array): void;
  /** Close with RST (uv_tcp_close_reset); optional: older Nodes lack it. */
  reset?(callback?: () => void): number;
  /** SO_KEEPALIVE with TCP_KEEPIDLE in seconds; optional. */
  setKeepAlive?(enable: boolean, delaySeconds: number): number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly writeQueueSize: number;
}

export interface UvBindings {
  newSocketHandle(): TcpHandle;
  newServerHandle(): TcpHandle;
  newWriteReq(): UvRequest;
  newShutdownReq(): UvRequest;
  newConnectReq(): UvRequest;
  /** After a read: bytes read (> 0) or a negative error (UV_EOF at end of stream). */
  readResult(): number;
  /** After a read: where the bytes start in the ArrayBuffer passed to `onread`. */
  readOffset(): number;
  /** After a write call: whether it was queued (completion comes later through `oncomplete`). */
  lastWriteWasAsync(): boolean;
  /** After a write call: bytes the write covers. */
  lastWriteBytes(): number;
}

/** libuv's UV_EOF. */
export const UvEof = -4095;
/** libuv's UV_ENOTCONN (shutdown on a socket the peer already reset: nothing left to do). */
export const UvENotConn = -107;
/** libuv's UV_ECONNRESET. */
export const UvEConnReset = -104;

type Ctor<T> = new (...args: unknown[]) => T;

interface RawTcpWrap {
  TCP: Ctor<TcpHandle>;
  TCPConnectWrap: Ctor<UvRequest>;
  constants: { SOCKET: number; SERVER: number };
}
interface RawStreamWrap {
  WriteWrap: Ctor<UvRequest>;
  ShutdownWrap: Ctor<UvRequest>;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kBytesWritten: number;
  kLastWriteWasAsync: number;
}

const HandleMethods = [
  'readStart',
  'readStop',
  'writeBuffer',
  'writeUtf8String',
  'writeLatin1String',
  'shutdown',
  'close',
  'setNoDelay',
  'getsockname',
  'getpeername',
  'bind',
  'bind6',
  'listen',
  'connect',
  'connect6',
  'useUserBuffer',
] as const;

let cached: UvBindings | null | undefined;
let problem: string | null = null;

/** Why `loadUvBindings` gave null (after it did), else null. */
export function uvBindingsProblem(): string | null {
  return problem;
}

export function loadUvBindings(): UvBindings | null {
  if (cached !== undefined) return cached;
  cached = null;
  // process.binding() is deprecated (DEP0111). Node warns about it under --pending-deprecation,
  // and --throw-deprecation turns that warning into an exception thrown on the next tick, after
  // any check here: the only safe move in such a process is not to call it at all.
  if (process.throwDeprecation) {
    problem = 'this process throws on deprecations (--throw-deprecation) and process.binding() is deprecated';
    return null;
  }
  problem = 'process.binding() does not give the tcp_wrap/stream_wrap members this build uses';
  try {
    const binding = (process as unknown as { binding(name: string): unknown }).binding;
    if (typeof binding !== 'function') {
      problem = 'process.binding() is not available';
      return null;
    }
    const tcp = binding.call(process, 'tcp_wrap') as RawTcpWrap;
    const stream = binding.call(process, 'stream_wrap') as RawStreamWrap;
    const { TCP, TCPConnectWrap, constants } = tcp;
    const { WriteWrap, ShutdownWrap, streamBaseState: state } = stream;
    if (![TCP, TCPConnectWrap, WriteWrap, ShutdownWrap].every((c) => typeof c === 'function')) return null;
    if (!(state instanceof Int32Array)) return null;
    const probe = new TCP(constants.SOCKET);
    const complete = HandleMethods.every(
      (m) => typeof (probe as unknown as Record<string, unknown>)[m] === 'function',
    );
    probe.close();
    if (!complete) return null;
    const { kReadBytesOrError, kArrayBufferOffset, kBytesWritten, kLastWriteWasAsync } = stream;
    cached = {
      newSocketHandle: () => new TCP(constants.SOCKET),
      newServerHandle: () => new TCP(constants.SERVER),
      newWriteReq: () => new WriteWrap(),
      newShutdownReq: () => new ShutdownWrap(),
      newConnectReq: () => new TCPConnectWrap(),
      readResult: () => state[kReadBytesOrError] ?? 0,
      readOffset: () => state[kArrayBufferOffset] ?? 0,
      lastWriteWasAsync: () => state[kLastWriteWasAsync] !== 0,
      lastWriteBytes: () => state[kBytesWritten] ?? 0,
    };
    problem = null;
  } catch (err) {
    cached = null;
    problem = `process.binding() failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  return cached;
}
