import { type Endpoint, sinkWants } from '../common/events.ts';
import { dottedOf } from '../common/inet-address.ts';
import type { ServerConfig } from '../config/ast.ts';
import type { ByteStream, Conn, Listener } from '../net/net.ts';
import { resetOrClose } from '../net/stream-state.ts';
import type { RouteDecision } from '../policy/client-route.ts';
import { serviceLabel } from '../policy/request-desc.ts';
import type { AccessOutcome } from '../policy/server-access.ts';
import { checkAccess, identifyEnds, refuseUnusableConfig } from './access-step.ts';
import { bindDirect, bindViaUpstream } from './bind.ts';
import { connectDirect } from './connect-direct.ts';
import { connectViaUpstream } from './connect-upstream.ts';
import type { ParsedRequest } from './handshake.ts';
import type { Linked } from './live-list.ts';
import type { ServerRules } from './options.ts';
import type { Relay, RelayResult } from './relay.ts';
import { openRelay } from './relay-step.ts';
import { encodeReply, type Failure, replyCodeFor, Socks4Code, Socks5Rep } from './replies.ts';
import { RequestReader } from './request-reader.ts';
import { routeRequest } from './route-step.ts';
import { requestEvent, type SessionEvent, stampEvent } from './session-events.ts';
import {
  isUnusable,
  type LogLevel,
  noop,
  type RelayPeer,
  type RunState,
  type SessionContext,
  type SessionSteps,
} from './session-steps.ts';

export type { SessionContext };

/**
 * One client connection, a.5 from accept to the termination log. Each step is its own module,
 * and this class runs them in order and holds what they share (SessionSteps):
 *  1. accept: server.ts makes the Session (the constructor below);
 *  2. negotiate: request-reader.ts reads the request through handshake.ts (pure), within its
 *     size bound and request timer, then keeps the client's early bytes for the relay;
 *  3. decide: access-step.ts (who the ends are, sockd.conf, identd), then for rsockd
 *     route-step.ts (socks.conf), with rule-command.ts for the lines' shell commands;
 *  4. dial: connect-direct.ts, connect-upstream.ts or bind.ts, within the establishment timer;
 *  5. relay: relay-step.ts (relay.ts moves the bytes, then the termination lines).
 * The endings, replies and event plumbing every step uses follow them here.
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
  /** The negotiate step, and the client's bytes until the relay reads them. */
  private readonly reader: RequestReader;
  private establishTimer: { clear(): void } | null = null;
  finished = false;
  private relay: Relay | null = null;
  private outboundSocket: ByteStream | null = null;
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
  /** Until the request is read in full, or the session ends. */
  private awaitingRequest = true;
  /** Until the client has its (first) reply, or the session ends. */
  private awaitingReply = true;
  /** A `request` event named this session's ends; without one, `close` names them (lab traces). */
  private requestLogged = false;

  // ------------------------------------------------------------------ 1. accept

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
    this.client.on('error', this.onClientError);
    this.client.on('close', this.onClientClose);
    // 2. negotiate: the reader calls requestReceived when the request is complete.
    this.reader = new RequestReader(this);
  }

  // ------------------------------------------------------------------ 3. decide (Appendix A)

  /** The negotiate step has read the request: decide it and dial (an unexpected error ends this session only). */
  requestReceived(req: ParsedRequest): void {
    this.requestRead();
    this.process(req).catch((err: unknown) => {
      // A bug or an unexpected socket state: end this session only.
      this.log('err', `internal error: ${err instanceof Error ? err.message : String(err)}`);
      this.outbound?.destroy();
      this.finish('internal-error');
    });
  }

  private async process(req: ParsedRequest): Promise<void> {
    const ctx = this.ctx;
    const rules = ctx.rules(); // snapshot: a reload does not change an in-flight session
    // The request event comes first, before any (possibly slow) name lookup.
    if (sinkWants(ctx.events, 'request')) {
      this.requestLogged = true;
      this.emit(requestEvent(this.conn, req));
    }
    const { src, dst } = await identifyEnds(ctx, this.conn, req);
    if (req.hostname !== undefined && sinkWants(ctx.events, 'resolve')) {
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
    const run: RunState = { req, src, dst, dstServ, reqdesc, realUser, decision };
    // a.5 step 6: rsockd routing
    let route: RouteDecision | null = null;
    if (ctx.mode === 'rsockd') {
      route = await routeRequest(this, run, rules);
      if (route === null) return; // refused, already answered
    }
    // a.5 step 7: establishment timer from the end of validation
    this.establishTimer = ctx.clock.setTimeout(() => this.onEstablishTimeout(run), ctx.timers.establish);
    await this.dial(run, rules, route);
  }

  // ------------------------------------------------------------------ 4. dial

  /** The way to the destination: through the upstream rsockd routing chose, or directly. */
  private dial(run: RunState, rules: ServerRules, route: RouteDecision | null): Promise<void> {
    const bind = run.req.command === 'bind';
    if (route?.action === 'sockd')
      return bind ? bindViaUpstream(this, run, route) : connectViaUpstream(this, run, route);
    return bind ? bindDirect(this, run, rules) : connectDirect(this, run, rules);
  }

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

  /**
   * While a BIND waits for its peer (or the upstream's second reply), the client's closing is
   * noticed at once (b.5.2); what it sends meanwhile the reader keeps for the relay.
   */
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

  clearEstablishTimer(): void {
    this.establishTimer?.clear();
    this.establishTimer = null;
  }

  // ------------------------------------------------------------------ 5. relay (b.6)

  startRelay(run: RunState, peer: RelayPeer): void {
    this.stopWatching();
    this.stopWatching = noop;
    const early = this.reader.handOver(); // the relay reads the client from here on
    this.relay = openRelay(this, run, peer, this.reader.handshakeBytes, early);
    // The relay watches both sockets from here on: our own listeners would only double its work
    // (and make every socket keep an array of listeners per event while it idles).
    this.client.off('error', this.onClientError);
    this.client.off('close', this.onClientClose);
    peer.socket.off('error', noop);
  }

  finishRelayed(result: RelayResult, reason: string): void {
    this.fromClient = result.fromClient;
    this.fromRemote = result.fromRemote;
    this.finish(reason);
  }

  /** The stuck-session check (server.ts): true when the session was ended for a vanished peer. */
  endIfPeerGone(): boolean {
    return this.relay?.endIfPeerGone() ?? false;
  }

  // ------------------------------------------------------------------ endings

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

  /**
   * End the session now (server shutdown, drain timeout). Both connections are reset, so the
   * client reads an error rather than a clean end of a transfer cut short, and a relaying session
   * writes its termination lines before this returns.
   */
  abort(why: string): void {
    this.markGone();
    // A session cut before its relay has no termination lines of its own: this one says so.
    if (this.relay === null && !this.finished) {
      const stage = this.reader.negotiating ? 'its request was read' : 'it was answered';
      this.log('notice', `ended -- ${why} before ${stage}; ${this.conn.remote.address} was reset`);
    }
    this.relay?.abort(why);
    if (this.outbound) resetOrClose(this.outbound);
    void this.bindListener?.close();
    resetOrClose(this.client);
    this.finish('aborted');
  }

  finish(reason: string): void {
    if (this.finished) return;
    this.finished = true;
    this.requestRead();
    this.replied();
    this.reader.stop();
    this.clearEstablishTimer();
    const handlers = this.finishHandlers;
    this.finishHandlers = null;
    if (handlers !== null) for (const h of handlers) h();
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

  /** Resolves when the session has ended and its logs are written (made on first use). */
  get done(): Promise<void> {
    this.donePromise ??= this.finished
      ? Promise.resolve()
      : new Promise((resolve) => {
          this.resolveDone = resolve;
        });
    return this.donePromise;
  }

  private onClientError = (): void => {
    this.markGone();
  };

  private onClientClose = (): void => {
    this.markGone();
    if (this.reader.negotiating) this.reader.onEarlyEnd();
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

  // ------------------------------------------------------------------ replies

  sendFailure(req: ParsedRequest, failure: Failure, bound?: Endpoint): void {
    this.sendFinalReply(req, replyCodeFor(req.version, failure), 'only', bound);
  }

  sendFinalReply(req: ParsedRequest, code: number, phase: 'only' | 'second', bound?: Endpoint): void {
    if (sinkWants(this.ctx.events, 'reply')) {
      this.emit({ type: 'reply', version: req.version, code, phase, ...(bound ? { bound } : {}) });
    }
    if (this.client.destroyed) return;
    this.client.end(encodeReply(req.version, code, bound));
    this.client.once('finish', () => this.client.destroy());
    this.replied();
  }

  sendGranted(req: ParsedRequest, phase: 'only' | 'first' | 'second', bound: Endpoint): void {
    const code = req.version === 4 ? Socks4Code.Granted : Socks5Rep.Succeeded;
    if (sinkWants(this.ctx.events, 'reply')) {
      this.emit({ type: 'reply', version: req.version, code, phase, bound });
    }
    if (this.client.destroyed) return;
    this.client.write(encodeReply(req.version, code, bound));
    if (phase !== 'second') this.replied();
  }

  private requestRead(): void {
    if (!this.awaitingRequest) return;
    this.awaitingRequest = false;
    this.onRequestRead(this);
  }

  private replied(): void {
    if (!this.awaitingReply) return;
    this.awaitingReply = false;
    this.onReplied();
  }

  // ------------------------------------------------------------------ events and logs

  emit(event: SessionEvent): void {
    if (sinkWants(this.ctx.events, event.type)) this.ctx.events!.emit(stampEvent(this.ctx, this.id, event));
  }

  log(level: LogLevel, message: string): void {
    this.ctx.log?.write(level, message);
    if (sinkWants(this.ctx.events, 'log')) this.emit({ type: 'log', level, message });
  }
}

export type { AccessOutcome };
