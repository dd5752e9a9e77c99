import type { Socket } from 'node:net';

/**
 * b.6 relay between two connected sockets: bytes unchanged both ways with backpressure (pipe
 * pauses the reader while the writer's buffer is full, so no buffer grows without bound),
 * half-close propagated (EOF from one side ends the other side's write direction, copying the
 * other way goes on), idle timer, and both sockets destroyed on any error. Byte counts come from
 * the sockets' own counters, so no per-chunk work is added to the data path.
 */

export interface RelayResult {
  /** Bytes the client sent during the relay (early payload included). */
  readonly fromClient: number;
  /** Bytes the destination/peer sent. */
  readonly fromRemote: number;
  readonly reason: 'eof' | 'error' | 'idle' | 'aborted';
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
}

export class Relay {
  private reason: RelayResult['reason'] = 'eof';
  private closed = 0;
  private settle!: (r: RelayResult) => void;
  readonly done: Promise<RelayResult>;

  constructor(
    private readonly client: Socket,
    private readonly remote: Socket,
    private readonly options: RelayOptions,
  ) {
    this.done = new Promise((resolve) => {
      this.settle = resolve;
    });
    const onClose = this.onClose;
    const onError = this.onError;
    client.on('error', onError);
    remote.on('error', onError);
    if (client.destroyed) this.closed++;
    else client.once('close', onClose);
    if (remote.destroyed) this.closed++;
    else remote.once('close', onClose);
    // Every relayed byte is read from or written to the client socket, so its inactivity timer
    // is exactly "no byte moved in either direction" (b.6).
    if (options.idleMs > 0 && Number.isFinite(options.idleMs)) {
      client.setTimeout(options.idleMs, this.onIdle);
    }
    if (options.early && options.early.length > 0) remote.write(options.early);
    if (options.earlyRemote && options.earlyRemote.length > 0) client.write(options.earlyRemote);
    client.pipe(remote);
    remote.pipe(client);
    client.resume();
    remote.resume();
    if (this.closed === 2) this.finish();
  }

  /** End the session now (server shutdown without drain). */
  abort(): void {
    if (this.reason === 'eof') this.reason = 'aborted';
    this.client.destroy();
    this.remote.destroy();
  }

  private onError = (): void => {
    if (this.reason === 'eof') this.reason = 'error';
    this.client.destroy();
    this.remote.destroy();
  };

  private onIdle = (): void => {
    if (this.reason === 'eof') this.reason = 'idle';
    this.client.destroy();
    this.remote.destroy();
  };

  private onClose = (): void => {
    this.closed++;
    // One side gone for good (RST, or both of its directions finished): when the other side has
    // also finished both directions it closes by itself; if it is still sending into a closed
    // socket the write error will destroy it.
    if (this.closed === 1) {
      const other = this.client.destroyed ? this.remote : this.client;
      // If the closed side never sent EOF (reset), nothing more can be relayed: end the peer.
      const closedSide = this.client.destroyed ? this.client : this.remote;
      if (!closedSide.readableEnded) other.destroy();
      else if (other.writableFinished && other.readableEnded) other.destroy();
    }
    if (this.closed === 2) this.finish();
  };

  private finish(): void {
    this.client.setTimeout(0);
    const fromClient = Math.max(0, this.client.bytesRead - this.options.clientHandshakeBytes);
    const fromRemote = Math.max(0, this.remote.bytesRead - this.options.remoteHandshakeBytes);
    this.settle({ fromClient, fromRemote, reason: this.reason });
  }
}
