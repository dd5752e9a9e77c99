import { ProtocolError } from '../common/errors.ts';
import type { ByteStream } from '../net/net.ts';

/** What the protocol codecs return: more bytes needed, or a value and how many bytes it took. */
export type Decoded<T> = { readonly need: number } | { readonly value: T; readonly consumed: number };

/**
 * Reads whole protocol messages from a socket with the pure incremental decoders, keeping
 * bytes that arrive after a message (relayed data) for the caller.
 */
export class MessageReader {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly socket: ByteStream) {
    socket.on('data', this.onData);
    socket.once('end', this.onEnd);
    socket.once('close', this.onEnd);
    socket.once('error', this.onError);
  }

  private readonly onData = (chunk: Buffer) => {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    this.wake?.();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.wake?.();
  };
  private readonly onError = (err: Error) => {
    this.failure = err;
    this.wake?.();
  };

  /** The next message, or throws when the peer closes first or the deadline passes. */
  async read<T>(decode: (buf: Uint8Array) => Decoded<T>, what: string, deadline: number): Promise<T> {
    for (;;) {
      const d = decode(this.buffer);
      if ('value' in d) {
        this.buffer = this.buffer.subarray(d.consumed);
        return d.value;
      }
      if (this.failure) throw this.failure;
      if (this.ended)
        throw new ProtocolError('E_CLIENT_CLOSED', `the server closed the connection before the ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new ProtocolError('E_CLIENT_TIMEOUT', `no ${what} within the time limit`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve();
        };
      });
    }
  }

  /** Stop reading and hand back whatever arrived after the last message. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    const rest = this.buffer;
    this.buffer = Buffer.alloc(0);
    return rest;
  }
}
