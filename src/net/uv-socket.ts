import { EventEmitter } from 'node:events';
import { getSystemErrorName } from 'node:util';
import { BulkBufferBytes, BulkThreshold } from './bulk.ts';
import type { ByteStream } from './net.ts';
import {
  type TcpHandle,
  type UvBindings,
  UvEConnReset,
  UvENotConn,
  UvEof,
  type UvRequest,
} from './uv-bindings.ts';

/**
 * A connected TCP stream on a bare libuv handle: the ByteStream subset of net.Socket, always
 * half-open capable. No stream buffers: a read is handed to the 'data' listeners as it arrives
 * (pausing stops the handle's reads, so the kernel buffer is the only buffer), and a write goes
 * straight to the handle (libuv writes at once when it can and queues the rest; `writableLength`
 * counts what is queued, and `write` returns false past HighWaterMark, then 'drain').
 *
 * Events, in net.Socket's order: 'data', 'end' (peer EOF), 'finish' (our half-close done),
 * 'timeout', 'drain', 'error' (next tick after destroy), 'close' (handle closed).
 */

/** Queued-write bytes above which `write` asks the caller to wait for 'drain' (net.Socket's default). */
const HighWaterMark = 16 * 1024;

/** A libuv error as node:net shapes it: `code`, `errno`, `syscall`, and the peer when known. */
export function uvError(
  status: number,
  syscall: string,
  address?: string,
  port?: number,
): NodeJS.ErrnoException {
  let code: string;
  try {
    code = getSystemErrorName(status);
  } catch {
    code = `UV${status}`;
  }
  const where = address === undefined ? '' : port === undefined ? ` ${address}` : ` ${address}:${port}`;
  const err = new Error(`${syscall} ${code}${where}`) as NodeJS.ErrnoException & {
    address?: string;
    port?: number;
  };
  err.errno = status;
  err.code = code;
  err.syscall = syscall;
  if (address !== undefined) err.address = address;
  if (port !== undefined) err.port = port;
  return err;
}

interface WriteReq extends UvRequest {
  socket: UvSocket | null;
  bytes: number;
  buffer: Uint8Array | string | null;
  cb: ((err?: Error | null) => void) | null;
}

/**
 * A write the kernel took at once (the usual case) never hands its request object to libuv: the
 * next write of any socket uses that object again instead of constructing one from its template.
 */
let spareWriteReq: WriteReq | null = null;

/**
 * Direct reads into a caller's buffer (bulk relays): `onRead(n)` gets the byte count, the bytes are
 * in the buffer last given; it returns the buffer for the next read (the same one when it was
 * consumed synchronously). To stop reading it calls `pause()` on the socket (and still returns the
 * next buffer): the handle takes a new buffer only as a read's return value.
 */
export type IntoBufferReader = (bytes: number) => Uint8Array;

/**
 * Every socket reads into this one buffer (libuv reads and our callback run back to back, so no
 * two reads overlap) and copies out what it got: no 64 KiB allocation per read, as Node's
 * default read path makes, and no ArrayBuffer for the collector per read.
 */
const SharedReads = Buffer.allocUnsafeSlow(64 * 1024);

function noop(): void {}

/** Reads up to this size are copied byte by byte: Buffer#copy makes a view object per call. */
const SmallCopy = 256;

/** The first `n` bytes of the shared read buffer in a buffer of their own. */
function copyOfSharedReads(n: number): Buffer {
  const chunk = Buffer.allocUnsafe(n);
  if (n <= SmallCopy) for (let i = 0; i < n; i++) chunk[i] = SharedReads[i] as number;
  else SharedReads.copy(chunk, 0, 0, n);
  return chunk;
}

// One callback of each kind for every socket: the handle's `owner` leads back to its socket, so a
// connection carries no closures of its own.
function onHandleRead(this: TcpHandle): Uint8Array | undefined {
  return (this.owner as UvSocket).onRead();
}
function onWriteDone(this: WriteReq, status: number): void {
  (this.socket as UvSocket).onWriteDone(this, status);
}
function onShutdownDone(this: UvRequest, status: number): void {
  (this.socket as UvSocket).onShutdownDone(status);
}
function emitErrorAndClose(socket: UvSocket, error: Error | undefined): void {
  if (error) socket.emit('error', error);
  socket.closed = true;
  socket.emit('close', error !== undefined);
}
function finishAndClose(socket: UvSocket): void {
  if (socket.destroyed) return;
  socket.writableFinished = true;
  socket.emit('finish');
  socket.destroy();
}
function onTimer(socket: UvSocket): void {
  socket.onTimer();
}

export class UvSocket extends EventEmitter implements ByteStream {
  destroyed = false;
  closed = false;
  readableEnded = false;
  writableEnded = false;
  writableFinished = false;
  writableLength = 0;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  /** null: never paused nor resumed (a 'data' listener starts reading, as with net.Socket). */
  private flowing: boolean | null = null;
  private reading = false;
  private pendingWrites = 0;
  private needDrain = false;
  private handle: TcpHandle | null;
  private finalBytesRead = 0;
  private finalBytesWritten = 0;
  private idleMs = 0;
  private lastActive = 0;
  private timer: NodeJS.Timeout | null = null;
  private intoBuffer: IntoBufferReader | null = null;
  /** The buffer the next read lands in (the handle keeps its own pointer to it). */
  private current: Uint8Array = SharedReads;
  /** A buffer given by `readInto`, handed to the handle at the end of the current read. */
  private nextBuffer: Uint8Array | null = null;
  /** Relay mode: where this socket's reads go. */
  private sink: UvSocket | null = null;
  /** Relay mode: the socket whose reads we write; resumed when our queued writes drain. */
  private source: UvSocket | null = null;
  /**
   * Nagle is switched off just before the first write (see `noDelayFromFirstWrite`), not when the
   * connection is made: the system call then stays off the path from connect to the reply.
   */
  private noDelayPending = false;

  constructor(
    private readonly uv: UvBindings,
    handle: TcpHandle,
  ) {
    super();
    this.handle = handle;
    handle.owner = this;
    handle.onread = onHandleRead;
    handle.useUserBuffer(SharedReads);
  }

  get bytesRead(): number {
    return this.handle ? this.handle.bytesRead : this.finalBytesRead;
  }

  get bytesWritten(): number {
    return this.handle ? this.handle.bytesWritten : this.finalBytesWritten;
  }

  /** Our end as the kernel reports it; null once closed. */
  sockname(): { address: string; port: number } | null {
    const out = { address: '', port: 0 };
    return this.handle?.getsockname(out) === 0 ? out : null;
  }

  /** The peer as the kernel reports it; null once closed or reset. */
  peername(): { address: string; port: number } | null {
    const out = { address: '', port: 0 };
    return this.handle?.getpeername(out) === 0 ? out : null;
  }

  // ------------------------------------------------------------------ reading

  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own listener type
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    super.on(event, listener);
    if (event === 'data' && this.flowing !== false) this.resume();
    return this;
  }

  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own listener type
  override addListener(event: string | symbol, listener: (...args: any[]) => void): this {
    return this.on(event, listener);
  }

  pause(): this {
    this.flowing = false;
    if (this.reading && this.handle) {
      this.reading = false;
      this.handle.readStop();
    }
    return this;
  }

  resume(): this {
    this.flowing = true;
    if (!this.reading && this.handle && !this.readableEnded && !this.destroyed) {
      this.reading = true;
      const err = this.handle.readStart();
      if (err !== 0) this.destroy(uvError(err, 'read'));
    }
    return this;
  }

  /**
   * Switch reads to the caller's buffer (no copy per read). 'data' is no longer emitted once the
   * switch is in effect; `onRead` gets each read. EOF and errors still come as 'end' / 'error'.
   * Called from a 'data' listener (the usual case), the very next read lands in `buffer`.
   */
  readInto(buffer: Uint8Array, onRead: IntoBufferReader): boolean {
    if (!this.handle) return false;
    this.intoBuffer = onRead;
    this.nextBuffer = buffer;
    return true;
  }

  /**
   * Relay mode, for two UvSockets: every read is written straight to `sink`, with no 'data',
   * 'end' or 'drain' event and no listener per direction. The sink's backpressure pauses this
   * socket until its queued writes drain; our EOF half-closes the sink. A direction that carries
   * bulk traffic moves to its own read buffer (no copy per read). 'error' and 'close' come as usual.
   */
  relayTo(sink: UvSocket): void {
    this.sink = sink;
    sink.source = this;
    // An EOF read before the relay began is passed on now (resume() reads no further).
    if (this.readableEnded) {
      if (!sink.destroyed) sink.end();
      return;
    }
    this.resume();
  }

  /** A relay-mode read of `n` bytes; returns the buffer for the next read when it changes. */
  private relayRead(n: number, sink: UvSocket): Uint8Array | undefined {
    const buf = this.current;
    if (buf === SharedReads) {
      if (!sink.write(copyOfSharedReads(n))) this.pause();
      if (n < BulkThreshold || sink.destroyed) return undefined;
      this.current = Buffer.allocUnsafeSlow(BulkBufferBytes);
      return this.current;
    }
    const ok = sink.write(n === buf.length ? buf : buf.subarray(0, n));
    if (!ok) this.pause();
    // Written straight to the kernel (the usual case) leaves the buffer free for the next read;
    // a queued write still points into it, so the next read needs a fresh one.
    if (sink.writableLength === 0) return undefined;
    this.current = Buffer.allocUnsafeSlow(BulkBufferBytes);
    return this.current;
  }

  /** @internal called by the handle's read callback; the bytes are in `this.current`. */
  onRead(): Uint8Array | undefined {
    const n = this.uv.readResult();
    if (n > 0) {
      if (this.idleMs > 0) this.touch();
      const sink = this.sink;
      if (sink !== null) return this.relayRead(n, sink);
      const into = this.intoBuffer;
      if (into !== null && this.current !== SharedReads) return into(n) ?? undefined;
      // The shared buffer is reused by the next read of any socket: listeners get their own copy
      // (from Buffer's pool for small reads, so no new ArrayBuffer per read).
      this.emit('data', copyOfSharedReads(n));
      const next = this.nextBuffer;
      if (next !== null && this.handle !== null) {
        this.nextBuffer = null;
        this.current = next;
        return next;
      }
      return undefined;
    }
    if (n === 0) return undefined; // EAGAIN-like: nothing this time
    if (n === UvEof) {
      if (!this.writableEnded && this.peername() === null) {
        // libuv reports a reset that comes right behind data as EOF (POLLHUP after a partial
        // read, without reading the error). A peer's FIN leaves the connection known to the
        // kernel (CLOSE_WAIT) while our side is open; a reset does not: then it is an error,
        // never a clean end of a stream that was cut.
        this.destroy(uvError(UvEConnReset, 'read'));
        return undefined;
      }
      this.readableEnded = true;
      if (this.reading && this.handle) {
        this.reading = false;
        this.handle.readStop();
      }
      this.emit('end');
      if (this.sink !== null && !this.sink.destroyed) this.sink.end();
      if (this.writableFinished) this.destroy();
      return undefined;
    }
    this.destroy(uvError(n, 'read'));
    return undefined;
  }

  // ------------------------------------------------------------------ writing

  write(
    data: Uint8Array | string,
    encoding?: BufferEncoding | ((err?: Error | null) => void),
    cb?: (err?: Error | null) => void,
  ): boolean {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    const handle = this.handle;
    if (this.destroyed || this.writableEnded || handle === null) {
      const err = Object.assign(
        new Error(this.writableEnded ? 'write after end' : 'This socket has been ended by the other party'),
        {
          code: this.writableEnded ? 'ERR_STREAM_WRITE_AFTER_END' : 'ERR_STREAM_DESTROYED',
        },
      );
      if (cb) process.nextTick(cb, err);
      if (this.writableEnded && !this.destroyed) this.destroy(err);
      return false;
    }
    if (this.noDelayPending) {
      this.noDelayPending = false;
      handle.setNoDelay(true);
    }
    const req = spareWriteReq ?? (this.uv.newWriteReq() as WriteReq);
    spareWriteReq = null;
    req.handle = handle;
    req.oncomplete = onWriteDone as (status: number) => void;
    req.socket = this;
    req.cb = cb ?? null;
    req.buffer = null;
    let err: number;
    if (typeof data === 'string') {
      err =
        encoding === 'latin1' || encoding === 'binary'
          ? handle.writeLatin1String(req, data)
          : handle.writeUtf8String(req, data);
    } else {
      err = handle.writeBuffer(req, data);
    }
    if (err !== 0) {
      this.destroy(uvError(err, 'write'));
      return false;
    }
    if (this.idleMs > 0) this.touch();
    if (this.uv.lastWriteWasAsync()) {
      // Queued in libuv: the bytes must stay alive until the completion callback.
      req.bytes = this.uv.lastWriteBytes();
      req.buffer = data;
      this.pendingWrites++;
      this.writableLength += req.bytes;
      if (this.writableLength >= HighWaterMark) {
        this.needDrain = true;
        return false;
      }
    } else {
      // Written in full already: libuv never saw the request, so it is free for the next write.
      req.handle = undefined;
      req.socket = null;
      req.cb = null;
      spareWriteReq = req;
      if (cb) process.nextTick(cb, null);
    }
    return true;
  }

  /** @internal */
  onWriteDone(req: WriteReq, status: number): void {
    this.pendingWrites--;
    this.writableLength -= req.bytes;
    req.buffer = null;
    if (status < 0) {
      const err = uvError(status, 'write');
      req.cb?.(err);
      this.destroy(err);
      return;
    }
    req.cb?.(null);
    if (this.idleMs > 0) this.touch();
    if (this.pendingWrites === 0 && this.needDrain && !this.destroyed) {
      this.needDrain = false;
      this.emit('drain');
      const source = this.source;
      if (source !== null && !source.destroyed) source.resume();
    }
  }

  end(data?: Uint8Array | string, encoding?: BufferEncoding): this {
    if (data !== undefined && !this.writableEnded) {
      if (encoding !== undefined) this.write(data, encoding);
      else this.write(data);
    }
    if (this.writableEnded || this.destroyed || this.handle === null) return this;
    this.writableEnded = true;
    if (this.readableEnded && this.pendingWrites === 0) {
      // Both directions are done: close() sends the same FIN a shutdown would, without the extra
      // system call and completion callback.
      process.nextTick(finishAndClose, this);
      return this;
    }
    // libuv runs the shutdown after every queued write, so there is nothing to wait for here.
    const req = this.uv.newShutdownReq();
    req.handle = this.handle;
    req.oncomplete = onShutdownDone as (status: number) => void;
    req.socket = this;
    const err = this.handle.shutdown(req);
    if (err === 1 || err === UvENotConn) process.nextTick(() => this.onShutdownDone(0));
    else if (err !== 0) this.destroy(uvError(err, 'shutdown'));
    return this;
  }

  /** @internal */
  onShutdownDone(status: number): void {
    if (this.destroyed) return;
    if (status < 0 && status !== UvENotConn) {
      this.destroy(uvError(status, 'shutdown'));
      return;
    }
    this.writableFinished = true;
    this.emit('finish');
    if (this.readableEnded) this.destroy();
  }

  // ------------------------------------------------------------------ lifetime

  /**
   * End with a reset (RST) instead of a FIN, as net.Socket's `resetAndDestroy`: the peer sees
   * ECONNRESET, so a transfer cut short never looks complete. Queued writes are dropped.
   */
  resetAndDestroy(): this {
    if (this.destroyed) return this;
    const handle = this.handle;
    // After our FIN (end()) libuv refuses to reset (uv_tcp_close_reset after a shutdown), and Node
    // would then never close the handle: a plain close, the peer has had our whole stream anyway.
    if (handle === null || this.writableEnded || typeof handle.reset !== 'function') return this.destroy();
    this.release();
    handle.reset();
    process.nextTick(emitErrorAndClose, this, undefined);
    return this;
  }

  /** Sockets whose reads are stopped by `pause()` (backpressure in relay mode). */
  readsPaused(): boolean {
    return this.flowing === false && !this.destroyed && !this.readableEnded;
  }

  /**
   * Whether the connection still exists in the kernel. A peer that reset it or stopped answering
   * keepalive probes while we were not reading leaves no event behind: only this check finds it.
   */
  peerConnected(): boolean {
    return this.peername() !== null;
  }

  setKeepAlive(enable = false, initialDelayMs = 0): this {
    this.handle?.setKeepAlive?.(enable, Math.floor(initialDelayMs / 1000));
    return this;
  }

  /**
   * Marks the socket destroyed and lets go of its handle (kept byte counts, no more reads or
   * callbacks into this object); returns the handle for the caller to close or reset.
   */
  private release(): TcpHandle | null {
    this.destroyed = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const handle = this.handle;
    if (handle) {
      this.finalBytesRead = handle.bytesRead;
      this.finalBytesWritten = handle.bytesWritten;
      this.reading = false;
      handle.onread = noop as () => undefined;
      handle.owner = null;
      this.handle = null;
    }
    return handle;
  }

  destroy(error?: Error): this {
    if (this.destroyed) return this;
    const handle = this.release();
    if (handle) {
      // libuv closes the descriptor right here; only its callback would come later. Without one,
      // a connection's end costs no call from C++ into JavaScript per socket.
      handle.close();
    }
    process.nextTick(emitErrorAndClose, this, error);
    return this;
  }

  setNoDelay(noDelay = true): this {
    this.noDelayPending = false;
    this.handle?.setNoDelay(noDelay);
    return this;
  }

  /** Nagle off from the first write on (a dialled connection's first bytes are never delayed anyway). */
  noDelayFromFirstWrite(): void {
    this.noDelayPending = true;
  }

  /**
   * Inactivity timer as net.Socket's: 'timeout' after `ms` without a read or write. One timer that
   * re-arms itself for the remainder instead of being reset on every chunk.
   */
  setTimeout(ms: number, callback?: () => void): this {
    if (callback) {
      if (ms === 0) this.off('timeout', callback);
      else this.once('timeout', callback);
    }
    this.idleMs = ms > 0 && Number.isFinite(ms) ? ms : 0;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.idleMs > 0 && !this.destroyed) {
      this.lastActive = performance.now();
      this.timer = setTimeout(onTimer, this.idleMs, this);
    }
    return this;
  }

  private touch(): void {
    this.lastActive = performance.now();
    if (this.timer === null && !this.destroyed) this.timer = setTimeout(onTimer, this.idleMs, this);
  }

  /** @internal */
  onTimer(): void {
    this.timer = null;
    if (this.destroyed || this.idleMs === 0) return;
    const idle = performance.now() - this.lastActive;
    if (idle + 1 >= this.idleMs) {
      this.emit('timeout');
      return;
    }
    this.timer = setTimeout(onTimer, this.idleMs - idle, this);
  }
}
