import { ProtocolError } from '../common/errors.ts';
import type { ByteStream } from '../net/net.ts';
import type { Decoded } from '../protocol/decoded.ts';

/** No reply a SOCKS client reads is near this long (a SOCKS 5 reply is at most 262 bytes). */
const MaxMessageBytes = 4096;

/**
 * Reads whole protocol messages from a socket with the pure incremental decoders, keeping
 * bytes that arrive after a message (relayed data) for the caller. The one reader of SOCKS
 * replies: the probe's exchanges and rsockd's upstream step both read through it. It resumes the
 * socket (a previous reader may have paused it) and pauses it again when detached, so no byte
 * is read before its next reader (a relay) listens.
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
    socket.resume();
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

  /**
   * The next message, or throws when the peer closes first (E_CLIENT_CLOSED), the socket fails
   * (its error) or the deadline passes (E_CLIENT_TIMEOUT); a decoder error is thrown as is.
   * `deadline` is a Date.now() time; Infinity waits for as long as the socket lives (rsockd's
   * session timer bounds the wait instead).
   */
  async read<T>(decode: (buf: Uint8Array) => Decoded<T>, what: string, deadline: number): Promise<T> {
    for (;;) {
      const d = decode(this.buffer);
      if ('value' in d) {
        this.buffer = this.buffer.subarray(d.consumed);
        return d.value;
      }
      if (this.buffer.length > MaxMessageBytes)
        throw new ProtocolError('E_CLIENT_TOO_LONG', `the ${what} is longer than ${MaxMessageBytes} bytes`);
      if (this.failure) throw this.failure;
      if (this.ended)
        throw new ProtocolError('E_CLIENT_CLOSED', `the server closed the connection before the ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new ProtocolError('E_CLIENT_TIMEOUT', `no ${what} within the time limit`);
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(left) ? setTimeout(resolve, left) : undefined;
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve();
        };
      });
    }
  }

  /** Stop reading, pause the socket, and hand back whatever arrived after the last message. */
  detach(): Buffer {
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    const rest = this.buffer;
    this.buffer = Buffer.alloc(0);
    return rest;
  }
}
