import { type Endpoint, type LabEvent, sinkWants } from '../common/events.ts';
import { dottedOf } from '../common/inet-address.ts';
import type { ServerConfig } from '../config/ast.ts';
import type { ByteStream, Conn, Listener } from '../net/net.ts';
import { resetOrClose } from '../net/stream-state.ts';
import type { RouteDecision } from '../policy/client-route.ts';
import { hostFromAddress } from '../policy/host.ts';
import { serviceLabel } from '../policy/request-desc.ts';
import type { AccessOutcome } from '../policy/server-access.ts';
import { encodeSocks4Reply } from '../protocol/socks4.ts';
import { encodeSocks5Reply } from '../protocol/socks5.ts';
import { checkAccess, identifyEnds, refuseUnusableConfig } from './access-step.ts';
import { bindDirect, bindViaUpstream } from './bind.ts';
import { connectDirect } from './connect-direct.ts';
import { connectViaUpstream } from './connect-upstream.ts';
import { Handshake, type ParsedRequest } from './handshake.ts';
import type { Linked } from './live-list.ts';
import { Relay, type RelayResult } from './relay.ts';
import { type Failure, Socks4Code, Socks5Rep, socks4CodeFor, socks5RepFor } from './replies.ts';
import { routeRequest } from './route-step.ts';
import {
  flat,
  isUnusable,
  type LogLevel,
  noop,
  type RunState,
  type SessionContext,
  type SessionSteps,
  v4OrZero,
} from './session-steps.ts';

export type { SessionContext };

/** The largest handshake we buffer: SOCKS 4 header + 1024 USERID + 256 name, with margin. */
const MaxHandshakeBytes = 4096;
/**
 * Bytes a client may send after its request and before its relay starts (while the request is
 * decided and dialled, or a BIND waits for its peer); beyond this we stop reading it.
 */
const MaxEarlyWhileWaiting = 64 * 1024;
/** One shared empty buffer: an idle session holds no buffer of its own. */
const Empty = Buffer.alloc(0);

/** Why the session ended, for the close event. */
type EndReason = string;

/**
 * One client connection, a.5 from accept to the termination log: request reading and the access
 * decision live here; the steps after it are their own modules working through SessionSteps:
 * rsockd routing (route-step.ts), rule shell commands (rule-command.ts) and the ways to reach
 * the destination (connect-direct.ts, connect-upstream.ts, bind.ts).
 * Async steps are awaited per session, so a slow identd, DNS server or shell command never holds
 * up other sessions.
 */
export class Session implements SessionSteps, Linked<Session> {
  readonly id: string;
  /** The server's list of sessions in progress (live-list.ts). */
  listPrev: Session | null = null;
  listNext: Session | null = null;
  readonly client: ByteStream;
  private readonly started: number;
  private buf: Buffer = Empty;
  /** 'handshake' until the request is read, then 'processing' (decision, dial, relay). */
  private stage: 'handshake' | 'processing' = 'handshake';
  /** The negotiation state; dropped once the request is read. */
  private handshake: Handshake | null;
  private handshakeBytes = 0;
  private requestTimer: { clear(): void } | null = null;
  private establishTimer: { clear(): void } | null = null;
  private user = '';
  finished = false;
  private relay: Relay | null = null;
  private outboundSocket: ByteStream | null = null;
  /**
   * The destination / upstream / BIND peer socket. It gets the same TCP keepalive as the client
   * connection: a destination host that vanishes while the relay is paused on it (nothing in
   * flight) leaves no event, and without probes the stuck check would only learn of it from the
   * idle timer hours later.
   */
  get outbound(): ByteStream | null {
    return this.outboundSocket;
  }
  set outbound(socket: ByteStream | null) {
    this.outboundSocket = socket;
    if (socket && this.ctx.keepAliveMs > 0) socket.setKeepAlive(true, this.ctx.keepAliveMs);
  }
  bindListener: Listener | null = null;
  /** Set when the client went away or the server aborts; async steps check it. */
  gone = false;
  /** Only BIND waits on these: made on first use, not for every session. */
  private goneHandlers: (() => void)[] | null = null;
  private finishHandlers: (() => void)[] | null = null;
  private donePromise: Promise<void> | null = null;
  private resolveDone: (() => void) | null = null;
  private fromClient = 0;
  private fromRemote = 0;
  /** Until the client has its (first) reply, or the session ends. */
  private awaitingReply = true;
  /** A `request` event named this session's ends; without one, `close` names them (lab traces). */
  private requestLogged = false;

  constructor(
    readonly ctx: SessionContext,
    readonly conn: Conn,
    id: string,
    /** Called once when the session has ended and its logs are written (the server's bookkeeping). */
    private readonly onEnded: (session: Session) => void = noop,
    /** Called once when the client has its first reply, or the session ends without one. */
    private readonly onReplied: () => void = noop,
    /** Called once when the request is read in full, or the session ends before (handshake limits). */
    private readonly onRequestRead: (session: Session) => void = noop,
  ) {
    this.id = id;
    this.client = conn.socket;
    // Only the close event reports the duration: no clock read per session without events.
    this.started = ctx.events ? ctx.clock.now() : 0;
    this.handshake = new Handshake({ socks5: ctx.socks5, socks5Auth: ctx.socks5Auth, passwd: ctx.passwd });
    this.client.on('error', this.onClientError);
    this.client.on('close', this.onClientClose);
    this.client.on('data', this.onData);
    this.client.on('end', this.onEarlyEnd);
    this.requestTimer = ctx.clock.setTimeout(this.onRequestTimeout, ctx.timers.requestRead);
  }

  // ------------------------------------------------------------------ plumbing

  /** Resolves when the session has ended and its logs are written (made on first use). */
  get done(): Promise<void> {
    this.donePromise ??= this.finished
      ? Promise.resolve()
      : new Promise((resolve) => {
          this.resolveDone = resolve;
        });
    return this.donePromise;
  }

  emit(event: Record<string, unknown> & { type: LabEvent['type'] }): void {
    const sink = this.ctx.events;
    if (!sinkWants(sink, event.type)) return;
    const base: Record<string, unknown> = {
      t: this.ctx.clock.now(),
      service: this.ctx.mode,
      pid: this.ctx.pid,
      session: this.id,
    };
    if (this.ctx.hostLabel !== undefined) base.host = this.ctx.hostLabel;
    sink!.emit({ ...base, ...event } as unknown as LabEvent);
  }

  log(level: LogLevel, message: string): void {
    this.ctx.log?.write(level, message);
    if (sinkWants(this.ctx.events, 'log')) this.emit({ type: 'log', level, message });
  }

  private onClientError = (): void => {
    this.markGone();
  };

  private onClientClose = (): void => {
    this.markGone();
    if (this.stage !== 'processing') this.onEarlyEnd();
  };

  onGone(handler: () => void): void {
    (this.goneHandlers ??= []).push(handler);
  }

  onFinish(handler: () => void): void {
    (this.finishHandlers ??= []).push(handler);
  }

  private markGone(): void {
    if (this.gone) return;
    this.gone = true;
    const handlers = this.goneHandlers;
    this.goneHandlers = null;
    if (handlers !== null) for (const h of handlers) h();
  }

  /**
   * End the session now (server shutdown, drain timeout). Both connections are reset, so the
   * client reads an error rather than a clean end of a transfer cut short, and a relaying session
   * writes its termination lines before this returns.
   */
  abort(why: string): void {
    this.markGone();
    // A session cut before its relay has no termination lines of its own: this one says so.
    if (this.relay === null && !this.finished) {
      const stage = this.stage === 'handshake' ? 'its request was read' : 'it was answered';
      this.log('notice', `ended -- ${why} before ${stage}; ${this.conn.remote.address} was reset`);
    }
    this.relay?.abort(why);
    if (this.outbound) resetOrClose(this.outbound);
    void this.bindListener?.close();
    resetOrClose(this.client);
    this.finish('aborted');
  }

  /** The stuck-session check (server.ts): true when the session was ended for a vanished peer. */
  endIfPeerGone(): boolean {
    return this.relay?.endIfPeerGone() ?? false;
  }

  clearEstablishTimer(): void {
    this.establishTimer?.clear();
    this.establishTimer = null;
  }

  finish(reason: EndReason): void {
    if (this.finished) return;
    this.finished = true;
    this.requestRead();
    this.replied();
    this.requestTimer?.clear();
    this.clearEstablishTimer();
    const handlers = this.finishHandlers;
    this.finishHandlers = null;
    if (handlers !== null) for (const h of handlers) h();
    this.client.off('data', this.onData);
    // A final reply may still be in flight: destroy once it is flushed, never leave it half-open.
    const c = this.client;
    if (!c.destroyed) {
      if (c.writableEnded && !c.writableFinished) c.once('finish', () => c.destroy());
      else c.destroy();
    }
    if (sinkWants(this.ctx.events, 'close')) {
      this.emit({
        type: 'close',
        bytesFromClient: this.fromClient,
        bytesFromRemote: this.fromRemote,
        durationMs: this.ctx.clock.now() - this.started,
        reason,
        ...(this.requestLogged ? {} : { client: this.conn.remote, local: this.conn.local }),
      });
    }
    this.resolveDone?.();
    this.onEnded(this);
  }

  // ------------------------------------------------------------------ request reading (b.1, i.1–i.3)

  private onData = (chunk: Buffer): void => {
    if (this.stage === 'processing') {
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
      this.stage = 'processing';
      for (const b of step.send) this.client.write(b);
      this.client.end();
      if (outcome.authFailedUser !== undefined) {
        if (sinkWants(this.ctx.events, 'decision')) {
          this.emit({
            type: 'decision',
            action: 'deny',
            rule: null,
            reason: 'auth-failed',
            user: outcome.authFailedUser,
            realUser: 'unknown',
          });
        }
      }
      this.finish(outcome.reason);
      return;
    }
    for (const b of step.send) this.client.write(b);
    if (outcome.kind === 'request') this.startProcessing(outcome.request);
    else if (outcome.kind === 'drop') this.onProtocolError(outcome.code, outcome.byte);
  };

  private onProtocolError(code: string, byte: number): void {
    const hex = `0x${byte.toString(16).padStart(2, ' ')}`;
    this.dropWithoutReply(code);
    if (code === 'E_S4_VERSION') {
      void this.withSrcHost((h) => this.log('notice', `error -- wrong version (${hex}) from host ${h}.`));
    } else if (code === 'E_S4_COMMAND') {
      void this.withSrcHost((h) => this.log('notice', `error -- undefined command (${hex}) from host ${h}`));
    }
  }

  private async withSrcHost(fn: (srcHost: string) => void): Promise<void> {
    const src = await hostFromAddress(this.ctx.resolver, this.conn.remote.address);
    fn(src.display);
  }

  /** Close without any reply (b.2 list). */
  private dropWithoutReply(reason: string): void {
    this.stage = 'processing';
    this.client.destroy();
    this.finish(reason);
  }

  private onEarlyEnd = (): void => {
    if (this.stage === 'processing' || this.finished) return;
    const incompleteHeader = this.handshake?.headerIncomplete(this.buf.length) ?? false;
    this.stage = 'processing';
    this.client.destroy();
    if (incompleteHeader) {
      void this.withSrcHost((h) =>
        this.log('notice', `Error in GetDst: Connection closed by peer; from host ${h}`),
      );
    }
    this.finish('incomplete-request');
  };

  private onRequestTimeout = (): void => {
    if (this.stage === 'processing' || this.finished) return;
    const incompleteHeader = this.handshake?.headerIncomplete(this.buf.length) ?? false;
    const received = this.handshakeBytes + this.buf.length;
    this.stage = 'processing';
    this.client.destroy();
    // One line per timed-out request: the classic one while the SOCKS 4 header is incomplete,
    // otherwise (a SOCKS 5 negotiation, a USERID or 4A name without its NUL) one of ours.
    const seconds = this.ctx.timers.requestRead / 1000;
    void this.withSrcHost((h) =>
      this.log(
        'notice',
        incompleteHeader
          ? `Error in GetDst: Connection timed out; from host ${h}`
          : `error -- request not complete after ${seconds} s (${received} bytes) from host ${h}`,
      ),
    );
    this.finish('request-timeout');
  };

  private startProcessing(req: ParsedRequest): void {
    this.stage = 'processing';
    this.requestRead();
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
      this.waitingBytes = early.length;
      if (early.length >= MaxEarlyWhileWaiting) this.client.pause();
    }
    this.process(req, early).catch((err: unknown) => {
      // A bug or an unexpected socket state: end this session only.
      this.log('err', `internal error: ${err instanceof Error ? err.message : String(err)}`);
      this.outbound?.destroy();
      this.finish('internal-error');
    });
  }

  // ------------------------------------------------------------------ replies

  sendFailure(req: ParsedRequest, failure: Failure, bound?: Endpoint): void {
    this.sendFinalReply(
      req,
      req.version === 4 ? socks4CodeFor(failure) : socks5RepFor(failure),
      'only',
      bound,
    );
  }

  sendFinalReply(req: ParsedRequest, code: number, phase: 'only' | 'second', bound?: Endpoint): void {
    if (sinkWants(this.ctx.events, 'reply')) {
      this.emit({ type: 'reply', version: req.version, code, phase, ...(bound ? { bound } : {}) });
    }
    if (this.client.destroyed) return;
    const bytes =
      req.version === 4
        ? encodeSocks4Reply(code, bound?.port ?? 0, v4OrZero(bound?.address ?? '0.0.0.0'))
        : encodeSocks5Reply(code, bound ?? { address: '0.0.0.0', port: 0 });
    this.client.end(bytes);
    this.client.once('finish', () => this.client.destroy());
    this.replied();
  }

  private inHandshake = true;
  private requestRead(): void {
    if (!this.inHandshake) return;
    this.inHandshake = false;
    this.onRequestRead(this);
  }

  private replied(): void {
    if (!this.awaitingReply) return;
    this.awaitingReply = false;
    this.onReplied();
  }

  sendGranted(req: ParsedRequest, phase: 'only' | 'first' | 'second', bound: Endpoint): void {
    const code = req.version === 4 ? Socks4Code.Granted : Socks5Rep.Succeeded;
    if (sinkWants(this.ctx.events, 'reply')) {
      this.emit({ type: 'reply', version: req.version, code, phase, bound });
    }
    if (this.client.destroyed) return;
    this.client.write(
      req.version === 4
        ? encodeSocks4Reply(code, bound.port, v4OrZero(bound.address))
        : encodeSocks5Reply(code, bound),
    );
    if (phase !== 'second') this.replied();
  }

  // ------------------------------------------------------------------ decision (Appendix A)

  private async process(req: ParsedRequest, early: Buffer | null): Promise<void> {
    const ctx = this.ctx;
    const rules = ctx.rules(); // snapshot: a reload does not change an in-flight session
    // The request event comes first, before any (possibly slow) name lookup.
    if (sinkWants(this.ctx.events, 'request')) {
      this.requestLogged = true;
      this.emit({
        type: 'request',
        client: this.conn.remote,
        local: this.conn.local,
        version: req.version,
        command: req.command,
        dst: {
          // SOCKS 5 names have no wire address; 4A keeps its received 0.0.0.x (b.3).
          host: req.version === 5 && req.hostname !== undefined ? req.hostname : req.address,
          port: req.port,
          ...(req.hostname !== undefined ? { name: req.hostname } : {}),
        },
        user: req.user,
      });
    }
    const { src, dst } = await identifyEnds(ctx, this.conn, req);
    if (req.hostname !== undefined && sinkWants(this.ctx.events, 'resolve')) {
      this.emit({ type: 'resolve', name: req.hostname, addresses: dst.addresses.map(dottedOf) });
    }
    const dstServ = serviceLabel(req.port, ctx.serviceNameOf);
    if (this.gone) return this.finish('client-gone');

    if (req.emptyName) {
      this.sendFailure(req, { kind: 'unresolved' });
      return this.finish('empty-hostname');
    }

    const server = rules.server;
    if (isUnusable(server)) return refuseUnusableConfig(this, req, server, { src, dst, dstServ });
    const access = await checkAccess(this, req, server as ServerConfig, { src, dst, dstServ });
    if (access === null) return; // refused and answered, or the client left
    const { decision, reqdesc, realUser } = access;
    const run: RunState = { req, src, dst, dstServ, reqdesc, realUser, early, decision };

    // a.5 step 6: rsockd routing
    let route: RouteDecision | null = null;
    if (ctx.mode === 'rsockd') {
      route = await routeRequest(this, run, rules);
      if (route === null) return; // refused, already answered
    }
    // a.5 step 7: establishment timer from the end of validation
    this.establishTimer = ctx.clock.setTimeout(() => this.onEstablishTimeout(run), ctx.timers.establish);
    if (route?.action === 'sockd') {
      if (req.command === 'bind') await bindViaUpstream(this, run, route);
      else await connectViaUpstream(this, run, route);
    } else if (req.command === 'bind') await bindDirect(this, run, rules);
    else await connectDirect(this, run, rules);
  }

  private onEstablishTimeout(run: RunState): void {
    if (this.finished || this.relay) return;
    this.log('notice', `timed-out -- ${run.reqdesc}`);
    this.outbound?.destroy();
    void this.bindListener?.close();
    this.bindListener = null;
    if (run.req.version === 5 && !this.client.destroyed) {
      // SOCKS 5 clients get 0x04 (i.3); SOCKS 4 clients get no reply (b.2).
      this.sendFailure(run.req, { kind: 'timeout' });
    } else {
      this.client.destroy();
    }
    this.finish('establish-timeout');
  }

  /** Connection-level failure after acceptance: reply, `failed -- …` log, close. */
  fail(run: RunState, failure: Failure, what: string, text: string, bound?: Endpoint): void {
    if (this.finished) return;
    this.log('notice', `failed -- ${run.reqdesc}.  Error code: ${what} ${text}`);
    this.outbound?.destroy();
    this.sendFailure(run.req, failure, bound);
    this.finish(`failed: ${what} ${text}`);
  }

  // ------------------------------------------------------------------ waiting for a BIND peer (b.5)

  /**
   * From the request on, what the client sends is kept in a bounded buffer for the relay (its
   * early bytes); while a BIND waits for its peer (or the upstream's second reply), the client's
   * closing is noticed at once as well (b.5.2).
   */
  private waitingEarly: Buffer[] | null = null;
  private waitingBytes = 0;
  private keepWhileWaiting(chunk: Buffer): void {
    (this.waitingEarly ??= []).push(chunk);
    this.waitingBytes += chunk.length;
    if (this.waitingBytes >= MaxEarlyWhileWaiting) this.client.pause();
  }
  watchClientWhileWaiting(): void {
    if (this.client.readableEnded) {
      this.markGone();
      return;
    }
    const onEnd = () => this.markGone();
    this.client.once('end', onEnd);
    this.stopWatching = () => this.client.off('end', onEnd);
  }
  stopWatching: () => void = noop;

  // ------------------------------------------------------------------ relay (b.6)

  startRelay(
    run: RunState,
    remote: ByteStream,
    remoteHandshakeBytes: number,
    earlyRemote: Buffer | null,
    remoteHost: string,
    peerServ: string | null,
  ): void {
    this.stopWatching();
    this.stopWatching = noop;
    // The relay reads the client from here on.
    this.client.off('data', this.onData);
    this.client.off('end', this.onEarlyEnd);
    const parts: Buffer[] = [];
    if (run.early) parts.push(run.early);
    if (this.waitingEarly !== null) parts.push(...this.waitingEarly);
    this.waitingEarly = null;
    const early = parts.length === 0 ? null : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    // The async steps that led here end now: a relaying session keeps only these three strings
    // for its termination log, not the request, the decision or the host records.
    const terminated = flat(`terminated -- ${run.reqdesc}${peerServ !== null ? ` (${peerServ})` : ''}.`);
    const srcHost = flat(run.src.display);
    const remoteName = flat(remoteHost);
    const relay = new Relay(this.client, remote, {
      clientHandshakeBytes: this.handshakeBytes,
      remoteHandshakeBytes,
      early,
      earlyRemote,
      idleMs: this.ctx.timers.relayIdle,
      onDone: (result) => {
        this.fromClient = result.fromClient;
        this.fromRemote = result.fromRemote;
        this.log('notice', terminated);
        this.log(
          'notice',
          `${result.fromClient} bytes from ${srcHost}, ${result.fromRemote} bytes from ${remoteName}`,
        );
        if (result.reason !== 'eof') this.log('notice', endedText(result, srcHost, remoteName));
        this.finish(result.reason === 'eof' ? 'eof' : `${result.reason}: ${result.detail ?? ''}`);
      },
    });
    this.relay = relay;
    // The relay watches both sockets from here on: our own listeners would only double its work
    // (and make every socket keep an array of listeners per event while it idles).
    this.client.off('error', this.onClientError);
    this.client.off('close', this.onClientClose);
    remote.off('error', noop);
  }
}

/**
 * The line after the byte counts when a relay did not end cleanly: why, and that the other
 * party was reset (so it saw an error, not the end of a complete transfer).
 */
export function endedText(result: RelayResult, srcHost: string, remoteHost: string): string {
  const host = result.side === 'client' ? srcHost : remoteHost;
  const other = result.side === 'client' ? remoteHost : srcHost;
  const detail = result.detail ?? '';
  switch (result.reason) {
    case 'error':
      return `ended -- connection with ${host} failed (${detail}); ${other} was reset`;
    case 'peer-gone':
      return `ended -- ${host} went away while its reads were paused (${detail}); ${other} was reset`;
    case 'idle':
      return `ended -- no byte moved for ${detail}; both sides were closed`;
    case 'aborted':
      return `ended -- ${detail}; both sides were reset`;
    default:
      return `ended -- ${result.reason}`;
  }
}

export type { AccessOutcome };
