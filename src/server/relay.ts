import type { ByteStream } from '../net/net.ts';
import { pipeBothWays } from '../net/pipe.ts';
import { peerConnected, readsPaused, resetOrClose } from '../net/stream-state.ts';

/**
 * b.6 relay between two connected sockets: bytes unchanged both ways with backpressure (a
 * direction stops reading while the other socket's write buffer is full, so no buffer grows
 * without bound), half-close propagated (EOF from one side ends the other side's write
 * direction, copying the other way goes on), idle timer, and both sockets destroyed on any error.
 * Byte counts come from the sockets' own counters, so no per-chunk work is added to the data path.
 *
 * Moving the bytes is the Net port's capability (net/pipe.ts: each Net's sockets copied in the
 * cheapest way it knows); this class is the session's side of it: idle timer, errors, endings
 * and the result.
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
    pipeBothWays(client, remote);
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
