import { sinkWants } from '../common/events.ts';
import type { ByteStream } from '../net/net.ts';
import { hostFromAddress } from '../policy/host.ts';
import { Handshake, type ParsedRequest } from './handshake.ts';
import type { SessionSteps } from './session-steps.ts';

/** The largest handshake we buffer: SOCKS 4 header + 1024 USERID + 256 name, with margin. */
const MaxHandshakeBytes = 4096;
/**
 * Bytes a client may send after its request and before its relay starts (while the request is
 * decided and dialled, or a BIND waits for its peer); beyond this we stop reading it.
 */
const MaxEarlyWhileWaiting = 64 * 1024;
/** One shared empty buffer: an idle session holds no buffer of its own. */
const Empty = Buffer.alloc(0);

/** What the reader needs of its session (session.ts). */
export interface ReadingSession
  extends Pick<SessionSteps, 'ctx' | 'conn' | 'client' | 'finished' | 'log' | 'emit' | 'finish'> {
  /** The request is read in full: decide and dial it. */
  requestReceived(req: ParsedRequest): void;
}

/**
 * The negotiate step of a session (b.1, i.1–i.3): everything read from the client before its
 * relay. Until the request, the bytes go through the pure Handshake (handshake.ts) within
 * MaxHandshakeBytes and the request timer, and a request phase that ends without a request
 * (timeout, early close, protocol error, refusal) closes the connection with its log line. From
 * the request on, the client is read on into a bounded buffer of early bytes, which handOver gives
 * to the relay.
 */
export class RequestReader {
  /** True until the request is read or the request phase has ended without one. */
  negotiating = true;
  /** Bytes of the client connection the negotiation used up (not relay payload). */
  handshakeBytes = 0;
  private readonly client: ByteStream;
  /** The negotiation state; dropped once the request is read. */
  private handshake: Handshake | null;
  private buf: Buffer = Empty;
  private requestTimer: { clear(): void } | null;
  /** What came after the request in its own read. */
  private early: Buffer | null = null;
  /** What came later, until the relay. */
  private waitingEarly: Buffer[] | null = null;
  private waitingBytes = 0;

  constructor(private readonly s: ReadingSession) {
    const ctx = s.ctx;
    this.client = s.client;
    this.handshake = new Handshake({ socks5: ctx.socks5, socks5Auth: ctx.socks5Auth, passwd: ctx.passwd });
    this.client.on('data', this.onData);
    this.client.on('end', this.onEarlyEnd);
    this.requestTimer = ctx.clock.setTimeout(this.onRequestTimeout, ctx.timers.requestRead);
  }

  /** The session has ended: no more reading, no request timer. */
  stop(): void {
    this.requestTimer?.clear();
    this.client.off('data', this.onData);
  }

  /** The relay reads the client from here on: what the client sent since its request, joined. */
  handOver(): Buffer | null {
    this.client.off('data', this.onData);
    this.client.off('end', this.onEarlyEnd);
    const parts: Buffer[] = [];
    if (this.early) parts.push(this.early);
    if (this.waitingEarly !== null) parts.push(...this.waitingEarly);
    this.early = null;
    this.waitingEarly = null;
    return parts.length === 0 ? null : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (!this.negotiating) {
      this.keepWhileWaiting(chunk);
      return;
    }
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const hs = this.handshake;
    if (!hs) return;
    // The bound applies to the request, not to what follows it: a read may carry the request and
    // up to a whole read buffer of early payload (b.1), which is kept, never a reason to close.
    const step = hs.advance(this.buf);
    if (step.consumed > 0) {
      this.handshakeBytes += step.consumed;
      this.buf = this.buf.subarray(step.consumed);
    }
    const outcome = step.outcome;
    if (outcome.kind === 'more' && this.buf.length > MaxHandshakeBytes) {
      this.dropWithoutReply('handshake-too-long');
      return;
    }
    if (outcome.kind === 'refuse') {
      this.negotiating = false;
      for (const b of step.send) this.client.write(b);
      this.client.end();
      if (outcome.authFailedUser !== undefined && sinkWants(this.s.ctx.events, 'decision')) {
        this.s.emit({
          type: 'decision',
          action: 'deny',
          rule: null,
          reason: 'auth-failed',
          user: outcome.authFailedUser,
          realUser: 'unknown',
        });
      }
      this.s.finish(outcome.reason);
      return;
    }
    for (const b of step.send) this.client.write(b);
    if (outcome.kind === 'request') this.requestRead(outcome.request);
    else if (outcome.kind === 'drop') this.onProtocolError(outcome.code, outcome.byte);
  };

  private requestRead(req: ParsedRequest): void {
    this.negotiating = false;
    this.handshake = null;
    this.requestTimer?.clear();
    this.requestTimer = null;
    // The client is read on (into a bounded buffer, onData) rather than paused: stopping and
    // restarting its reads would cost the relay two system calls right after the reply.
    const early = this.buf.length > 0 ? Buffer.from(this.buf) : null;
    this.buf = Empty;
    // The request's own read may already have brought a full early buffer: stop reading until the
    // relay starts (the kernel holds the rest), as for bytes that come later.
    if (early !== null) {
      this.early = early;
      this.waitingBytes = early.length;
      if (early.length >= MaxEarlyWhileWaiting) this.client.pause();
    }
    this.s.requestReceived(req);
  }

  private keepWhileWaiting(chunk: Buffer): void {
    (this.waitingEarly ??= []).push(chunk);
    this.waitingBytes += chunk.length;
    if (this.waitingBytes >= MaxEarlyWhileWaiting) this.client.pause();
  }

  private onProtocolError(code: string, byte: number): void {
    const hex = `0x${byte.toString(16).padStart(2, ' ')}`;
    this.dropWithoutReply(code);
    if (code === 'E_S4_VERSION') {
      void this.withSrcHost((h) => this.s.log('notice', `error -- wrong version (${hex}) from host ${h}.`));
    } else if (code === 'E_S4_COMMAND') {
      void this.withSrcHost((h) =>
        this.s.log('notice', `error -- undefined command (${hex}) from host ${h}`),
      );
    }
  }

  private async withSrcHost(fn: (srcHost: string) => void): Promise<void> {
    const src = await hostFromAddress(this.s.ctx.resolver, this.s.conn.remote.address);
    fn(src.display);
  }

  /** Close without any reply (b.2 list). */
  private dropWithoutReply(reason: string): void {
    this.negotiating = false;
    this.client.destroy();
    this.s.finish(reason);
  }

  /** The client ended (or closed) its connection before its request was complete. */
  readonly onEarlyEnd = (): void => {
    if (!this.negotiating || this.s.finished) return;
    const incompleteHeader = this.handshake?.headerIncomplete(this.buf.length) ?? false;
    this.negotiating = false;
    this.client.destroy();
    if (incompleteHeader) {
      void this.withSrcHost((h) =>
        this.s.log('notice', `Error in GetDst: Connection closed by peer; from host ${h}`),
      );
    }
    this.s.finish('incomplete-request');
  };

  private readonly onRequestTimeout = (): void => {
    if (!this.negotiating || this.s.finished) return;
    const incompleteHeader = this.handshake?.headerIncomplete(this.buf.length) ?? false;
    const received = this.handshakeBytes + this.buf.length;
    this.negotiating = false;
    this.client.destroy();
    // One line per timed-out request: the classic one while the SOCKS 4 header is incomplete,
    // otherwise (a SOCKS 5 negotiation, a USERID or 4A name without its NUL) one of ours.
    const seconds = this.s.ctx.timers.requestRead / 1000;
    void this.withSrcHost((h) =>
      this.s.log(
        'notice',
        incompleteHeader
          ? `Error in GetDst: Connection timed out; from host ${h}`
          : `error -- request not complete after ${seconds} s (${received} bytes) from host ${h}`,
      ),
    );
    this.s.finish('request-timeout');
  };
}
