import { type ByteStream, canReadInto } from '../net/net.ts';
import { peerConnected, readsPaused, resetOrClose } from '../net/stream-state.ts';
import { UvSocket } from '../net/uv-socket.ts';

/**
 * b.6 relay between two connected sockets: bytes unchanged both ways with backpressure (a
 * direction stops reading while the other socket's write buffer is full, so no buffer grows
 * without bound), half-close propagated (EOF from one side ends the other side's write
 * direction, copying the other way goes on), idle timer, and both sockets destroyed on any error.
 * Byte counts come from the sockets' own counters, so no per-chunk work is added to the data path.
 *
 * Each direction is a Pump. It starts on the stream's own reads (Node allocates a buffer per
 * read and frees it after the write, so an idle connection pins no buffer). Once a direction
 * carries bulk traffic it switches to reading into one buffer of its own (socket `onread` mode,
 * see BulkReads): no allocation and no garbage per chunk, and reads up to BulkBufferBytes, which
 * halves the syscalls of a busy relay. A cascade of rsockd processes on a 2-core machine is bound
 * by exactly that per-byte CPU.
 *
 * Two UvSockets (the production Net) need no Pump: each writes its reads straight to the other
 * (UvSocket.relayTo), with the same backpressure, half-close and bulk-buffer rules inside.
 */

/**
 * How a relay ended. Only 'eof' is a clean ending (both directions finished); every other one
 * ends both sockets with RST, so neither party mistakes a cut transfer for a complete one.
 */
export type RelayEnd =
  /** Both directions saw EOF. */
  | 'eof'
  /** A read or write error on one side, or a side that closed without EOF. */
  | 'error'
  /** No byte moved for the idle time (b.6). */
  | 'idle'
  /** The server ended the session (shutdown, drain timeout). */
  | 'aborted'
  /** A side whose reads were paused no longer exists in the kernel (reset, keepalive gave up). */
  | 'peer-gone';

export interface RelayResult {
  /** Bytes the client sent during the relay (early payload included). */
  readonly fromClient: number;
  /** Bytes the destination/peer sent. */
  readonly fromRemote: number;
  readonly reason: RelayEnd;
  /** For endings other than 'eof': the side it came from (none for the server's own). */
  readonly side?: 'client' | 'remote';
  /** For endings other than 'eof': what happened (an errno code, the server's reason). */
  readonly detail?: string;
}

export interface RelayOptions {
  /** Bytes of the client socket already consumed by the handshake (not relay payload). */
  readonly clientHandshakeBytes: number;
  /** Bytes of the remote socket consumed before the relay (an upstream's reply). */
  readonly remoteHandshakeBytes: number;
  /** Bytes read from the client after the request terminator, sent first (b.1). */
  readonly early: Buffer | null;
  /** Bytes the remote sent after its handshake reply (an upstream's early data), sent to the client first. */
  readonly earlyRemote?: Buffer | null;
  readonly idleMs: number;
  /** Called once with the result when both sockets have closed (`done` is the same as a promise). */
  readonly onDone?: (result: RelayResult) => void;
}

/** A read at least this large means the direction carries bulk data: switch it to its own buffer. */
const BulkThreshold = 32 * 1024;
/**
 * The own read buffer of a bulk direction (one per busy direction, none for idle ones).
 *
 * 128 KiB, not more: a read and the write after it touch about three times this many bytes (the
 * socket's queued data, this buffer, the new segments of the write), and those should stay in a
 * core's L2 cache (512 KiB per core on this project's machines). Measured (test/bench/focus.ts,
 * seven interleaved rounds): at 256 KiB a relay spent 0.90 CPU s per GB per hop in the 3-hop
 * cascade and 0.79 on one hop; at 128 KiB 0.59 and 0.56 (Dante 0.64 and 0.79), and the 3-hop
 * throughput went from 0.65x to 1.14x Dante's.
 */
const BulkBufferBytes = 128 * 1024;

/**
 * Access to net.Socket's user-buffer read mode for sockets we did not construct (the accepted
 * ones): the `onread` constructor option stores its buffer and callback under internal symbols
 * that `onStreamRead` consults on every read. Found by description once; when a Node version
 * lacks them, bulk mode is simply not used and every direction stays on stream reads.
 */
interface BulkReads {
  readonly buffer: symbol;
  readonly callback: symbol;
  readonly generator: symbol;
}

let bulkReads: BulkReads | null | undefined;
function bulkReadsOf(socket: ByteStream): BulkReads | null {
  if (bulkReads !== undefined) return bulkReads;
  const own = Object.getOwnPropertySymbols(socket);
  const find = (name: string) => own.find((s) => s.description === name);
  const buffer = find('kBuffer');
  const callback = find('kBufferCb');
  const generator = find('kBufferGen');
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: unknown } })._handle;
  bulkReads =
    buffer && callback && generator && typeof handle?.useUserBuffer === 'function'
      ? { buffer, callback, generator }
      : null;
  return bulkReads;
}

/** One direction: src → dst. */
class Pump {
  private bulk = false;
  /** The buffer the next bulk read lands in; null after a write still holds it. */
  private own: Buffer | null = null;

  constructor(
    private readonly src: ByteStream,
    private readonly dst: ByteStream,
  ) {
    src.on('data', this.onData);
    src.on('end', this.onEnd); // 'end' comes once; `on` spares the once-wrapper per socket
    dst.on('drain', this.onDrain);
  }

  start(): void {
    // The source's EOF may have come before the relay (its early bytes are already passed on).
    if (this.src.readableEnded) this.onEnd();
    else this.src.resume();
  }

  /** Stream-mode chunks (and anything left in the readable buffer after switching to bulk mode). */
  private readonly onData = (chunk: Buffer): void => {
    if (!this.dst.write(chunk)) this.src.pause();
    if (!this.bulk && chunk.length >= BulkThreshold) this.toBulk();
  };

  private readonly onDrain = (): void => {
    // Reading stopped only for backpressure; resume() also restarts a bulk socket's reads.
    if (!this.src.destroyed) this.src.resume();
  };

  private readonly onEnd = (): void => {
    // node:net shares libuv's way of reporting a reset right behind data as EOF (see UvSocket's
    // onRead): a connection the kernel no longer knows while our side is open was reset.
    if (!this.src.writableEnded && !peerConnected(this.src)) {
      this.src.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' }));
      return;
    }
    if (!this.dst.destroyed) this.dst.end();
  };

  private toBulk(): void {
    if (canReadInto(this.src)) {
      if (this.src.destroyed) return;
      this.bulk = true;
      this.own = Buffer.allocUnsafeSlow(BulkBufferBytes);
      this.src.readInto(this.own, this.onInto);
      return;
    }
    const src = this.src as unknown as Record<symbol, unknown> & {
      _handle: { useUserBuffer(b: Buffer): void } | null;
    };
    const reads = bulkReadsOf(this.src);
    if (!reads || !src._handle || this.src.destroyed) return;
    this.bulk = true;
    this.own = Buffer.allocUnsafeSlow(BulkBufferBytes);
    src[reads.buffer] = this.own;
    src[reads.callback] = (n: number, buf: Buffer) => this.onBulkRead(n, buf);
    src[reads.generator] = () => this.nextBuffer();
    src._handle.useUserBuffer(this.own);
  }

  /** A bulk read of `n` bytes into `buf`; false stops reading until dst drains. */
  private onBulkRead(n: number, buf: Buffer): boolean {
    const ok = this.dst.write(n === buf.length ? buf : buf.subarray(0, n));
    // Written straight to the kernel (the usual case) leaves nothing queued and the buffer free;
    // otherwise the queued write still points into it, and the next read needs a fresh one.
    if (this.dst.writableLength > 0) this.own = null;
    return ok;
  }

  /** A read into `own` on a socket that reads into our buffer (UvSocket). */
  private readonly onInto = (n: number): Uint8Array => {
    const buf = this.own as Buffer;
    const ok = this.dst.write(n === buf.length ? buf : buf.subarray(0, n));
    // A queued write still points into the buffer: the next read needs a fresh one.
    if (this.dst.writableLength > 0) this.own = Buffer.allocUnsafeSlow(BulkBufferBytes);
    if (!ok) this.src.pause();
    return this.own as Buffer;
  };

  private nextBuffer(): Buffer {
    this.own ??= Buffer.allocUnsafeSlow(BulkBufferBytes);
    return this.own;
  }
}

export class Relay {
  private reason: RelayEnd = 'eof';
  private side: 'client' | 'remote' | undefined;
  private detail: string | undefined;
  private closed = 0;
  private result: RelayResult | null = null;
  private settle: ((r: RelayResult) => void) | null = null;
  private promise: Promise<RelayResult> | null = null;

  constructor(
    private readonly client: ByteStream,
    private readonly remote: ByteStream,
    private readonly options: RelayOptions,
  ) {
    const onClose = this.onClose;
    client.on('error', this.onClientError);
    remote.on('error', this.onRemoteError);
    if (client.destroyed) this.closed++;
    else client.on('close', onClose);
    if (remote.destroyed) this.closed++;
    else remote.on('close', onClose);
    // Every relayed byte is read from or written to the client socket, so its inactivity timer
    // is exactly "no byte moved in either direction" (b.6).
    if (options.idleMs > 0 && Number.isFinite(options.idleMs)) {
      client.on('timeout', this.onIdle);
      client.setTimeout(options.idleMs);
    }
    if (options.early && options.early.length > 0) remote.write(options.early);
    if (options.earlyRemote && options.earlyRemote.length > 0) client.write(options.earlyRemote);
    if (client instanceof UvSocket && remote instanceof UvSocket) {
      // Both on bare handles: each socket writes its reads straight to the other (no listener,
      // no Pump, no 'data' event per chunk; see UvSocket.relayTo).
      client.relayTo(remote);
      remote.relayTo(client);
    } else {
      new Pump(client, remote).start();
      new Pump(remote, client).start();
    }
    // Both closed before we started: report after the constructor has returned, as for any relay.
    if (this.closed === 2) queueMicrotask(() => this.finish());
  }

  /**
   * The result once both sockets have closed. Made on first use: the server takes the result
   * through `onDone`, with no promise and no microtask per connection.
   */
  get done(): Promise<RelayResult> {
    this.promise ??= this.result
      ? Promise.resolve(this.result)
      : new Promise((resolve) => {
          this.settle = resolve;
        });
    return this.promise;
  }

  /**
   * End the session now (server shutdown, drain timeout): both sides reset, and the result is
   * reported before this returns, so the termination lines are written before the server is done.
   */
  abort(why: string): void {
    this.cut('aborted', undefined, why);
    this.finish();
  }

  /**
   * The stuck-session check: when either side's reads are paused (the other side is not taking
   * data), a side the kernel no longer knows (reset, or keepalive gave up) would otherwise sit
   * unnoticed until the idle timer. True when the relay was ended for it.
   */
  endIfPeerGone(): boolean {
    if (this.result !== null || (!readsPaused(this.client) && !readsPaused(this.remote))) return false;
    const gone = !peerConnected(this.client) ? 'client' : !peerConnected(this.remote) ? 'remote' : null;
    if (gone === null) return false;
    this.cut('peer-gone', gone, 'ENOTCONN');
    return true;
  }

  /** The first reason wins; the side it came from is already closed, the other is reset. */
  private cut(reason: RelayEnd, side: 'client' | 'remote' | undefined, detail: string): void {
    if (this.reason === 'eof') {
      this.reason = reason;
      this.side = side;
      this.detail = detail;
    }
    resetOrClose(this.client);
    resetOrClose(this.remote);
  }

  private onClientError = (err: NodeJS.ErrnoException): void => {
    this.cut('error', 'client', err.code ?? err.message);
  };

  private onRemoteError = (err: NodeJS.ErrnoException): void => {
    this.cut('error', 'remote', err.code ?? err.message);
  };

  /** Nothing was in transit for the whole idle time: a plain close (FIN) tells no lie. */
  private onIdle = (): void => {
    if (this.reason === 'eof') {
      this.reason = 'idle';
      this.detail = `${Math.round(this.options.idleMs / 1000)} s`;
    }
    this.client.destroy();
    this.remote.destroy();
  };

  private onClose = (): void => {
    this.closed++;
    // One side gone for good (RST, or both of its directions finished): when the other side has
    // also finished both directions it closes by itself; if it is still sending into a closed
    // socket the write error will end it.
    if (this.closed === 1) {
      const clientClosed = this.client.destroyed;
      const other = clientClosed ? this.remote : this.client;
      const closedSide = clientClosed ? this.client : this.remote;
      // A side that closed without EOF (reset) can relay nothing more: the peer is reset too.
      if (!closedSide.readableEnded) this.cut('error', clientClosed ? 'client' : 'remote', 'ECONNRESET');
      else if (other.writableFinished && other.readableEnded) other.destroy();
    }
    if (this.closed === 2) this.finish();
  };

  private finish(): void {
    if (this.result !== null) return;
    this.client.setTimeout(0);
    this.client.off('timeout', this.onIdle);
    const fromClient = Math.max(0, this.client.bytesRead - this.options.clientHandshakeBytes);
    const fromRemote = Math.max(0, this.remote.bytesRead - this.options.remoteHandshakeBytes);
    const result: RelayResult =
      this.reason === 'eof'
        ? { fromClient, fromRemote, reason: 'eof' }
        : {
            fromClient,
            fromRemote,
            reason: this.reason,
            ...(this.side !== undefined ? { side: this.side } : {}),
            ...(this.detail !== undefined ? { detail: this.detail } : {}),
          };
    this.result = result;
    this.settle?.(result);
    this.options.onDone?.(result);
  }
}
