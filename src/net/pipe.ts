import { BulkBufferBytes, BulkThreshold } from './bulk.ts';
import { type ByteStream, canReadInto } from './net.ts';
import { peerConnected } from './stream-state.ts';
import { UvSocket } from './uv-socket.ts';

/**
 * Relaying two sockets, the Net port's capability (design.md): bytes copied both ways with
 * backpressure and half-close, in the cheapest way the sockets allow. Callers (server/relay.ts)
 * never learn which sockets they hold; errors, 'close' and timers stay theirs.
 *
 * Two UvSockets (the production Net) write their reads straight to each other (UvSocket.relayTo).
 * Any other pair gets a Pump per direction. A Pump starts on the stream's own reads (Node
 * allocates a buffer per read and frees it after the write, so an idle connection pins no
 * buffer). Once a direction carries bulk traffic it switches to reading into one buffer of its
 * own (socket `onread` mode, see BulkReads): no allocation and no garbage per chunk, and reads up
 * to BulkBufferBytes, which halves the syscalls of a busy relay. A cascade of rsockd processes on
 * a 2-core machine is bound by exactly that per-byte CPU.
 */
export function pipeBothWays(a: ByteStream, b: ByteStream): void {
  if (a instanceof UvSocket && b instanceof UvSocket) {
    // Both on bare handles: no listener, no Pump, no 'data' event per chunk.
    a.relayTo(b);
    b.relayTo(a);
    return;
  }
  new Pump(a, b).start();
  new Pump(b, a).start();
}

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
