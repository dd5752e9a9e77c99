import type { Socket } from 'node:net';
import type { Clock } from '../common/clock.ts';
import type { Endpoint, EventSink, LabEvent, RuleCite } from '../common/events.ts';
import type { ClientConfig, IdentdMode, RouteConfig, ServerConfig } from '../config/ast.ts';
import type { ServiceTable } from '../config/services.ts';
import type { Conn, Listener, Net } from '../net/net.ts';
import { decideClientRoute, type RouteDecision } from '../policy/client-route.ts';
import { expandCommand } from '../policy/command.ts';
import { type HostIdentity, hostFromAddress, hostFromName, parseDottedQuad } from '../policy/host.ts';
import { chooseInterface, noInterfaceMessage } from '../policy/interface-choice.ts';
import { describeRequest, describeRoutedCall, serviceLabel } from '../policy/request-desc.ts';
import type { Resolver, UserFileReader } from '../policy/resolver.ts';
import {
  type AccessDecision,
  type AccessOutcome,
  applyIdentd,
  type CommandTemplate,
  decideServerAccess,
  type IdentdResult,
  serverCommandContext,
} from '../policy/server-access.ts';
import type { PasswdVerifier } from '../protocol/passwd-file.ts';
import {
  decodeSocks4Reply,
  encodeSocks4Reply,
  encodeSocks4Request,
  type Socks4ReplyMessage,
} from '../protocol/socks4.ts';
import { encodeSocks5Reply } from '../protocol/socks5.ts';
import { dialWithFailover } from './failover.ts';
import { Handshake, type ParsedRequest } from './handshake.ts';
import type { IdentdClient } from './identd-query.ts';
import type { ClassicLog, CommandRunner, ServerRules, Timers, UnusableConfig } from './options.ts';
import { readMessage } from './read-message.ts';
import { Relay, type RelayResult } from './relay.ts';
import {
  errnoOf,
  type Failure,
  Socks4Code,
  Socks5Rep,
  socks4CodeFor,
  socks5RepFor,
  systemErrorText,
  unknownHostText,
} from './replies.ts';
import { type AsyncUserFileReader, snapshotUserFiles } from './user-files.ts';

/** Everything a session needs from its server: resolved options and the current rules. */
export interface SessionContext {
  readonly mode: 'rsockd' | 'sockd';
  readonly net: Net;
  readonly resolver: Resolver;
  readonly userFiles: UserFileReader;
  readonly userFilesAsync: AsyncUserFileReader | undefined;
  readonly services: ServiceTable;
  readonly identd: IdentdClient;
  readonly identdDefault: IdentdMode;
  readonly identdPort: number;
  readonly socks5: boolean;
  readonly socks5Auth: 'optional' | 'required';
  readonly passwd: PasswdVerifier | null;
  readonly timers: Timers;
  readonly clock: Clock;
  readonly upstreamPort: number;
  readonly defaultServer: string | undefined;
  readonly multihomed: boolean;
  readonly routeConnect: boolean;
  readonly routePath: string;
  readonly commands: CommandRunner;
  readonly pid: number;
  readonly hostLabel: string | undefined;
  readonly events: EventSink | undefined;
  readonly log: ClassicLog | undefined;
  readonly rules: () => ServerRules;
}

type LogLevel = 'notice' | 'err' | 'warning' | 'info';

/** The largest handshake we buffer: SOCKS 4 header + 1024 USERID + 256 name, with margin. */
const MaxHandshakeBytes = 4096;
/** Bytes a BIND client may send while we wait for the peer; beyond this we stop reading it. */
const MaxEarlyWhileWaiting = 64 * 1024;
/** One shared empty buffer: an idle session holds no buffer of its own. */
const Empty = Buffer.alloc(0);

function isUnusable(c: unknown): c is UnusableConfig {
  return typeof c === 'object' && c !== null && 'unusable' in c;
}

/** Why the session ended, for the close event. */
type EndReason = string;

/**
 * One client connection, a.5 from accept to the termination log. Async steps are awaited per
 * session, so a slow identd, DNS server or shell command never holds up other sessions.
 */
export class Session {
  readonly id: string;
  private readonly client: Socket;
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
  private finished = false;
  private relay: Relay | null = null;
  private outbound: Socket | null = null;
  private bindListener: Listener | null = null;
  /** Set when the client went away or the server aborts; async steps check it. */
  private gone = false;
  private goneHandlers: (() => void)[] = [];
  private finishHandlers: (() => void)[] = [];
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private fromClient = 0;
  private fromRemote = 0;

  constructor(
    private readonly ctx: SessionContext,
    private readonly conn: Conn,
    id: string,
  ) {
    this.id = id;
    this.client = conn.socket;
    this.started = ctx.clock.now();
    this.handshake = new Handshake({ socks5: ctx.socks5, socks5Auth: ctx.socks5Auth, passwd: ctx.passwd });
    this.done = new Promise((r) => {
      this.resolveDone = r;
    });
    this.client.on('error', this.onClientError);
    this.client.on('close', this.onClientClose);
    this.client.on('data', this.onData);
    this.client.on('end', this.onEarlyEnd);
    this.requestTimer = ctx.clock.setTimeout(this.onRequestTimeout, ctx.timers.requestRead);
  }

  // ------------------------------------------------------------------ plumbing

  private emit(event: Record<string, unknown> & { type: LabEvent['type'] }): void {
    const sink = this.ctx.events;
    if (!sink) return;
    const base: Record<string, unknown> = {
      t: this.ctx.clock.now(),
      service: this.ctx.mode,
      pid: this.ctx.pid,
      session: this.id,
    };
    if (this.ctx.hostLabel !== undefined) base.host = this.ctx.hostLabel;
    sink.emit({ ...base, ...event } as unknown as LabEvent);
  }

  private log(level: LogLevel, message: string): void {
    this.ctx.log?.write(level, message);
    if (this.ctx.events) {
      this.emit({ type: 'log', level, message });
    }
  }

  private onClientError = (): void => {
    this.markGone();
  };

  private onClientClose = (): void => {
    this.markGone();
    if (this.stage !== 'processing') this.onEarlyEnd();
  };

  private markGone(): void {
    if (this.gone) return;
    this.gone = true;
    const handlers = this.goneHandlers;
    this.goneHandlers = [];
    for (const h of handlers) h();
  }

  /** End the session immediately (server shutdown without drain). */
  abort(): void {
    this.markGone();
    this.relay?.abort();
    this.outbound?.destroy();
    void this.bindListener?.close();
    this.client.destroy();
    this.finish('aborted');
  }

  private clearEstablishTimer(): void {
    this.establishTimer?.clear();
    this.establishTimer = null;
  }

  private finish(reason: EndReason): void {
    if (this.finished) return;
    this.finished = true;
    this.requestTimer?.clear();
    this.clearEstablishTimer();
    const handlers = this.finishHandlers;
    this.finishHandlers = [];
    for (const h of handlers) h();
    this.client.off('data', this.onData);
    // A final reply may still be in flight: destroy once it is flushed, never leave it half-open.
    const c = this.client;
    if (!c.destroyed) {
      if (c.writableEnded && !c.writableFinished) c.once('finish', () => c.destroy());
      else c.destroy();
    }
    if (this.ctx.events) {
      this.emit({
        type: 'close',
        bytesFromClient: this.fromClient,
        bytesFromRemote: this.fromRemote,
        durationMs: this.ctx.clock.now() - this.started,
        reason,
      });
    }
    this.resolveDone();
  }

  // ------------------------------------------------------------------ request reading (b.1, i.1–i.3)

  private onData = (chunk: Buffer): void => {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.buf.length > MaxHandshakeBytes && this.stage !== 'processing') {
      this.dropWithoutReply('handshake-too-long');
      return;
    }
    const hs = this.handshake;
    if (!hs) return;
    const step = hs.advance(this.buf);
    if (step.consumed > 0) {
      this.handshakeBytes += step.consumed;
      this.buf = this.buf.subarray(step.consumed);
    }
    const outcome = step.outcome;
    if (outcome.kind === 'refuse') {
      this.stage = 'processing';
      for (const b of step.send) this.client.write(b);
      this.client.end();
      if (outcome.authFailedUser !== undefined) {
        if (this.ctx.events) {
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
    this.stage = 'processing';
    this.client.destroy();
    if (incompleteHeader) {
      void this.withSrcHost((h) =>
        this.log('notice', `Error in GetDst: Connection timed out; from host ${h}`),
      );
    }
    this.finish('request-timeout');
  };

  private startProcessing(req: ParsedRequest): void {
    this.stage = 'processing';
    this.handshake = null;
    this.requestTimer?.clear();
    this.requestTimer = null;
    this.client.off('data', this.onData);
    this.client.off('end', this.onEarlyEnd);
    this.client.pause();
    const early = this.buf.length > 0 ? Buffer.from(this.buf) : null;
    this.buf = Empty;
    this.process(req, early).catch((err: unknown) => {
      // A bug or an unexpected socket state: end this session only.
      this.log('err', `internal error: ${err instanceof Error ? err.message : String(err)}`);
      this.outbound?.destroy();
      this.finish('internal-error');
    });
  }

  // ------------------------------------------------------------------ replies

  private sendFailure(req: ParsedRequest, failure: Failure, bound?: Endpoint): void {
    const code = req.version === 4 ? socks4CodeFor(failure) : socks5RepFor(failure);
    if (this.ctx.events) {
      this.emit({ type: 'reply', version: req.version, code, phase: 'only', ...(bound ? { bound } : {}) });
    }
    if (this.client.destroyed) return;
    const bytes =
      req.version === 4
        ? encodeSocks4Reply(code, bound?.port ?? 0, bound?.address ?? '0.0.0.0')
        : encodeSocks5Reply(code, bound ?? { address: '0.0.0.0', port: 0 });
    this.client.end(bytes);
    this.client.once('finish', () => this.client.destroy());
  }

  private sendGranted(req: ParsedRequest, phase: 'only' | 'first' | 'second', bound: Endpoint): void {
    const code = req.version === 4 ? Socks4Code.Granted : Socks5Rep.Succeeded;
    if (this.ctx.events) {
      this.emit({ type: 'reply', version: req.version, code, phase, bound });
    }
    if (this.client.destroyed) return;
    this.client.write(
      req.version === 4
        ? encodeSocks4Reply(code, bound.port, v4OrZero(bound.address))
        : encodeSocks5Reply(code, bound),
    );
  }

  // ------------------------------------------------------------------ decision (Appendix A)

  private async process(req: ParsedRequest, early: Buffer | null): Promise<void> {
    const ctx = this.ctx;
    const rules = ctx.rules(); // snapshot: a reload does not change an in-flight session
    // The request event comes first, before any (possibly slow) name lookup.
    if (this.ctx.events) {
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
    const [src, dst] = await Promise.all([
      hostFromAddress(ctx.resolver, this.conn.remote.address),
      req.hostname !== undefined
        ? hostFromName(ctx.resolver, req.hostname, { wireAddress: parseDottedQuad(req.address) ?? 1 })
        : hostFromAddress(ctx.resolver, req.address),
    ]);
    const dstServ = serviceLabel(req.port, (p) => ctx.services.nameOf(p));
    if (this.gone) return this.finish('client-gone');

    if (req.emptyName) {
      this.sendFailure(req, { kind: 'unresolved' });
      return this.finish('empty-hostname');
    }

    const server = rules.server;
    if (isUnusable(server)) {
      for (const m of server.unusable) this.log('err', m);
      const desc = describeRequest({
        command: req.command,
        user: req.user,
        realUser: 'unknown',
        src,
        dst,
        dstServ,
      });
      this.log('notice', `refused -- ${desc}`);
      if (this.ctx.events) {
        this.emit({
          type: 'decision',
          action: 'deny',
          rule: null,
          reason: 'config-unusable',
          user: req.user,
          realUser: 'unknown',
        });
      }
      this.sendFailure(req, { kind: 'config-unusable' });
      return this.finish('config-unusable');
    }

    const userFiles = ctx.userFilesAsync
      ? await snapshotUserFiles(server as ServerConfig, ctx.userFilesAsync, ctx.userFiles)
      : ctx.userFiles;
    const decision = decideServerAccess(
      server as ServerConfig,
      { src, dst, user: req.user, port: req.port, command: req.command },
      {
        identdDefault: ctx.identdDefault,
        userFiles,
        serviceNameOf: (p) => ctx.services.nameOf(p),
      },
    );
    let identd: IdentdResult = { kind: 'not-asked' };
    if (decision.action === 'permit' && decision.identd !== 'off') {
      const q = await ctx.identd({
        local: this.conn.local,
        remote: this.conn.remote,
        identdPort: ctx.identdPort,
        timeoutMs: ctx.timers.identd,
      });
      identd = q.kind === 'user' ? { kind: 'user', user: q.user } : { kind: 'unavailable', reason: q.reason };
      if (this.ctx.events) {
        this.emit({
          type: 'identd',
          queried: { address: this.conn.remote.address, port: ctx.identdPort },
          answer: q.answer,
          verdict: q.kind === 'unavailable' ? 'unavailable' : q.user === req.user ? 'confirmed' : 'mismatch',
          ...(q.kind === 'user' ? { user: q.user } : { reason: q.reason }),
        });
      }
    }
    const outcome = applyIdentd(decision, identd);
    if (this.ctx.events) {
      this.emit({
        type: 'decision',
        action: outcome.granted ? 'permit' : 'deny',
        rule: decision.rule,
        reason:
          outcome.identdVerdict === 'unavailable' && !outcome.granted
            ? 'identd-unavailable'
            : outcome.identdVerdict === 'mismatch'
              ? 'identd-mismatch'
              : decision.rule
                ? 'rule'
                : 'no-match',
        user: req.user,
        realUser: outcome.realUser,
      });
    }
    for (const step of outcome.steps) {
      if (step.kind === 'log') this.log(step.level, step.text);
      else await this.runCommand(step.command, decision, outcome.realUser);
    }
    if (!outcome.granted) {
      const failure: Failure =
        outcome.reply === 92
          ? { kind: 'identd-unavailable' }
          : outcome.reply === 93
            ? { kind: 'identd-mismatch' }
            : { kind: 'refused' };
      this.sendFailure(req, failure);
      return this.finish('refused');
    }
    if (this.gone) return this.finish('client-gone');

    const reqdesc = outcome.reqdesc;
    const run: RunState = { req, src, dst, dstServ, reqdesc, realUser: outcome.realUser, early, decision };

    // a.5 step 6: rsockd routing
    let route: RouteDecision | null = null;
    if (ctx.mode === 'rsockd') {
      route = await this.route(run, rules);
      if (route === null) return; // refused, already answered
    }
    // a.5 step 7: establishment timer from the end of validation
    this.establishTimer = ctx.clock.setTimeout(() => this.onEstablishTimeout(run), ctx.timers.establish);
    if (route?.action === 'sockd') {
      if (req.command === 'bind') await this.bindViaUpstream(run, route);
      else await this.connectViaUpstream(run, route);
    } else if (req.command === 'bind') await this.bindDirect(run, rules);
    else await this.connectDirect(run, rules);
  }

  private async runCommand(
    command: CommandTemplate | { origin: 'route'; template: string; rule: RuleCite },
    decision: AccessDecision,
    realUser: string,
  ): Promise<void> {
    const ctx = this.ctx;
    const expanded = expandCommand(command.template, serverCommandContext(decision, realUser, ctx.pid));
    const base = {
      type: 'command' as const,
      origin: command.origin,
      rule: command.rule,
      command: expanded.text,
    };
    if (!expanded.ok) {
      this.log(expanded.reason === 'too-long' ? 'err' : 'notice', expanded.log);
      if (this.ctx.events) {
        this.emit({ ...base, status: expanded.reason });
      }
      return;
    }
    const r = await ctx.commands.run(expanded.runnable, { timeoutMs: ctx.timers.shellCommand });
    if (r.status === 'spawn-failed') this.log('err', `Cannot execute shell command for pid ${ctx.pid}`);
    else if (r.status === 'timeout')
      this.log(
        'notice',
        `shell command for pid ${ctx.pid} still running after ${fmtSeconds(ctx.timers.shellCommand)} s`,
      );
    if (this.ctx.events) {
      this.emit({ ...base, status: r.status, ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}) });
    }
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
  private fail(run: RunState, failure: Failure, what: string, text: string, bound?: Endpoint): void {
    if (this.finished) return;
    this.log('notice', `failed -- ${run.reqdesc}.  Error code: ${what} ${text}`);
    this.outbound?.destroy();
    this.sendFailure(run.req, failure, bound);
    this.finish(`failed: ${what} ${text}`);
  }

  // ------------------------------------------------------------------ routing (d)

  private async route(run: RunState, rules: ServerRules): Promise<RouteDecision | null> {
    const ctx = this.ctx;
    const { req, dst, dstServ, realUser } = run;
    const client = rules.client ?? null;
    const routed = describeRoutedCall({ command: req.command, user: req.user, realUser, dst, dstServ });
    const bind = req.command === 'bind';
    if (isUnusable(client)) {
      for (const m of client.unusable) this.log('err', m);
      this.log('notice', `${bind ? 'Refused' : 'refused'} -- ${routed}`);
      if (this.ctx.events) {
        this.emit({ type: 'route', action: 'deny', rule: null, servers: [] });
      }
      this.sendFailure(req, { kind: 'config-unusable' });
      this.finish('client-config-unusable');
      return null;
    }
    const userFiles =
      ctx.userFilesAsync && client
        ? await snapshotUserFiles(client as ClientConfig, ctx.userFilesAsync, ctx.userFiles)
        : ctx.userFiles;
    const decision = decideClientRoute(
      client as ClientConfig | null,
      { dst, user: req.user, port: req.port },
      {
        userFiles,
        ...(ctx.defaultServer !== undefined ? { defaultServer: ctx.defaultServer } : {}),
      },
    );
    for (const e of decision.userFileErrors) this.log('err', e);
    if (this.ctx.events) {
      this.emit({
        type: 'route',
        action: decision.action,
        rule: decision.rule,
        servers: decision.servers,
        ...(decision.shortcut ? { shortcut: decision.shortcut } : {}),
      });
    }
    if (decision.command) {
      await this.runCommand({ ...decision.command, origin: 'route' }, run.decision, realUser);
    }
    if (decision.action === 'deny') {
      this.log('notice', `${bind ? 'Refused' : 'refused'} -- ${routed}`);
      this.log(
        'notice',
        `failed -- ${run.reqdesc}.  Error code: ${bind ? 'bind()' : 'connect()'} Connection refused`,
      );
      this.sendFailure(req, { kind: 'refused' });
      this.finish('route-deny');
      return null;
    }
    if (decision.action === 'direct') {
      this.log('notice', `${bind ? 'bind()' : 'connect()'} directly ${routed.slice(routed.indexOf('from'))}`);
    }
    if (this.gone) {
      this.finish('client-gone');
      return null;
    }
    return decision;
  }

  // ------------------------------------------------------------------ CONNECT (b.4)

  private async connectDirect(run: RunState, rules: ServerRules): Promise<void> {
    const ctx = this.ctx;
    const { req, dst } = run;
    if (req.hostname !== undefined && dst.addresses.length === 0 && !isIp(req.hostname)) {
      return this.fail(run, { kind: 'unresolved' }, 'gethostbyname()', unknownHostText);
    }
    // A name that is itself an address literal (an IPv6 text in a SOCKS 5 domain field) is dialled as is.
    const literal = req.hostname !== undefined && dst.addresses.length === 0 ? req.hostname : undefined;
    const host = literal ?? (req.version === 5 && req.hostname === undefined ? req.address : dst.dotted);
    if (host === '0.0.0.0')
      return this.fail(run, { kind: 'unspecified' }, 'connect()', systemErrorText('EINVAL'));
    let localAddress: string | undefined;
    if (ctx.routeConnect && ctx.multihomed) {
      const route = rules.route;
      if (route && !isUnusable(route)) localAddress = chooseInterface(route as RouteConfig, dst)?.iface;
    }
    let out: Conn;
    try {
      out = await ctx.net.connect({
        host,
        port: req.port,
        timeoutMs: ctx.timers.establish,
        ...(localAddress !== undefined ? { localAddress } : {}),
      });
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ETIMEDOUT' && this.finished) return;
      return this.fail(run, { kind: 'errno', code }, 'connect()', systemErrorText(code));
    }
    out.socket.on('error', noop); // until the relay takes over; an early RST must not crash us
    if (this.finished || this.gone) {
      out.socket.destroy();
      return this.finish('client-gone');
    }
    this.outbound = out.socket;
    this.clearEstablishTimer();
    if (this.ctx.events) {
      this.emit({ type: 'outbound', local: out.local, remote: out.remote, via: 'direct' });
    }
    this.sendGranted(req, 'only', req.version === 4 ? { address: '0.0.0.0', port: 0 } : out.local);
    this.log('notice', `connected -- ${run.reqdesc}`);
    this.startRelay(run, out.socket, 0, null, dst.display, null);
  }

  private async connectViaUpstream(run: RunState, route: RouteDecision): Promise<void> {
    const up = await this.dialUpstream(run, route);
    if (!up) return;
    const { req } = run;
    up.conn.socket.write(this.upstreamRequest(run));
    let reply: { value: Socks4ReplyMessage; rest: Buffer };
    try {
      reply = await readMessage(up.conn.socket, decodeSocks4Reply, 64);
    } catch (err) {
      if (this.finished) return;
      return this.fail(
        run,
        { kind: 'upstream-rejected', code: null },
        'connect()',
        systemErrorText(errnoOf(err) ?? 'ECONNRESET'),
      );
    }
    if (this.finished) return;
    if (reply.value.code !== Socks4Code.Granted) {
      // d.8: 92/93 concern identd on our host, never our client: always 91.
      return this.fail(
        run,
        { kind: 'upstream-rejected', code: reply.value.code },
        'connect()',
        systemErrorText('ECONNREFUSED'),
      );
    }
    this.clearEstablishTimer();
    this.sendGranted(req, 'only', req.version === 4 ? { address: '0.0.0.0', port: 0 } : up.conn.local);
    this.log('notice', `connected -- ${run.reqdesc}`);
    this.startRelay(run, up.conn.socket, 8, reply.rest, run.dst.display, null);
  }

  /** The upstream SOCKS 4/4A request (d.8): our client's USERID; 4A when the name did not resolve. */
  private upstreamRequest(run: RunState): Buffer {
    const { req, dst } = run;
    const user = req.user.replace(/\0/g, '');
    if (req.hostname !== undefined && dst.addresses.length === 0) {
      return encodeSocks4Request({
        command: req.command === 'bind' ? 'bind' : 'connect',
        port: req.port,
        hostname: req.hostname,
        user,
      });
    }
    return encodeSocks4Request({
      command: req.command === 'bind' ? 'bind' : 'connect',
      port: req.port,
      address: dst.dotted,
      user,
    });
  }

  /** d.7 fail-over: entries in order, each address with its own timer; only TCP failure moves on. */
  private async dialUpstream(
    run: RunState,
    route: RouteDecision,
  ): Promise<{ conn: Conn; entry: string } | null> {
    const ctx = this.ctx;
    const { req, dst, dstServ, realUser } = run;
    const what = req.command === 'bind' ? 'bind()' : 'connect()';
    if (dst.addresses.length === 0 && req.hostname === undefined) {
      // SOCKS 5 IPv6 destinations cannot be expressed in the SOCKS 4 upstream protocol.
      this.fail(run, { kind: 'address-type-unsupported' }, what, systemErrorText('EAFNOSUPPORT'));
      return null;
    }
    if (route.servers.length === 0) {
      this.log('notice', 'Failed to connect to sockd at (none)');
      this.fail(run, { kind: 'upstream-unreachable' }, what, systemErrorText('ECONNREFUSED'));
      return null;
    }
    const result = await dialWithFailover(
      ctx.net,
      ctx.resolver,
      route.servers,
      ctx.upstreamPort,
      ctx.timers.upstreamConnect,
      {
        log: (m) => this.log('notice', m),
        attempt: (a) => this.emit({ type: 'upstream-attempt', ...a }),
        cancelled: () => this.finished,
      },
    );
    if (result.kind === 'cancelled') return null;
    if (result.kind === 'exhausted') {
      this.fail(run, { kind: 'upstream-unreachable' }, what, result.lastError);
      return null;
    }
    const conn = result.conn;
    conn.socket.on('error', noop); // until the relay takes over
    if (this.finished || this.gone) {
      conn.socket.destroy();
      this.finish('client-gone');
      return null;
    }
    this.outbound = conn.socket;
    if (this.ctx.events) {
      this.emit({ type: 'outbound', local: conn.local, remote: conn.remote, via: 'upstream' });
    }
    const routed = describeRoutedCall({ command: req.command, user: req.user, realUser, dst, dstServ });
    this.log('notice', `${routed} using sockd at ${result.entry}`);
    return { conn, entry: result.entry };
  }

  // ------------------------------------------------------------------ BIND (b.5, d.9)

  private async bindDirect(run: RunState, rules: ServerRules): Promise<void> {
    const ctx = this.ctx;
    const { req, dst } = run;
    if (req.hostname !== undefined && dst.addresses.length === 0) {
      return this.fail(run, { kind: 'unresolved' }, 'gethostbyname()', unknownHostText);
    }
    let iface = '0.0.0.0';
    if (ctx.multihomed) {
      const route = rules.route;
      if (!route || isUnusable(route)) {
        if (route && isUnusable(route)) for (const m of route.unusable) this.log('err', m);
        else this.log('err', `Unable to open routing file (${ctx.routePath})`);
        this.sendFailure(req, { kind: 'no-route' });
        return this.finish('no-route-file');
      }
      const choice = chooseInterface(route as RouteConfig, dst);
      if (!choice) {
        this.log('err', noInterfaceMessage(dst));
        this.sendFailure(req, { kind: 'no-route' });
        return this.finish('no-route');
      }
      iface = choice.iface;
    }
    let peer: Conn | null = null;
    let onPeer!: (c: Conn) => void;
    const peerArrived = new Promise<Conn | null>((resolve) => {
      onPeer = (c) => resolve(c);
      this.goneHandlers.push(() => resolve(null));
      this.finishHandlers.push(() => resolve(null));
    });
    let listener: Listener;
    try {
      listener = await ctx.net.listen({ host: iface, port: 0, backlog: 1 }, (c) => {
        c.socket.on('error', noop);
        if (peer) {
          c.socket.destroy();
          return;
        }
        peer = c;
        onPeer(c);
      });
    } catch (err) {
      const code = errnoOf(err);
      return this.fail(run, { kind: 'errno', code }, 'bind()', systemErrorText(code));
    }
    this.bindListener = listener;
    if (this.finished) {
      void listener.close();
      return;
    }
    const firstAddress =
      req.version === 5 && listener.local.address === '0.0.0.0' ? this.conn.local.address : iface;
    const first: Endpoint = { address: firstAddress, port: listener.local.port };
    this.sendGranted(req, 'first', first);
    this.watchClientWhileWaiting();
    const got = await peerArrived;
    void listener.close();
    this.bindListener = null;
    if (!got || this.finished) {
      got?.socket.destroy();
      if (!this.finished) this.finish('client-gone');
      return;
    }
    this.clearEstablishTimer();
    const peerAddr = got.remote.address;
    const allowed =
      dst.dotted === '0.0.0.0' && req.hostname === undefined
        ? true
        : req.hostname !== undefined
          ? dst.addresses.includes(parseDottedQuad(peerAddr) ?? -1)
          : peerAddr === (req.version === 5 ? req.address : dst.dotted);
    const peerHost = await hostFromAddress(ctx.resolver, peerAddr);
    const peerServ = serviceLabel(got.remote.port, (p) => ctx.services.nameOf(p));
    if (this.finished) {
      got.socket.destroy();
      return;
    }
    if (!allowed) {
      this.log(
        'notice',
        `failed -- ${run.reqdesc}. Error: connected to wrong host ${peerHost.display} (${peerServ})`,
      );
      got.socket.destroy();
      const code =
        req.version === 4 ? socks4CodeFor({ kind: 'wrong-peer' }) : socks5RepFor({ kind: 'wrong-peer' });
      if (this.ctx.events) {
        this.emit({ type: 'reply', version: req.version, code, phase: 'second', bound: first });
      }
      this.client.end(
        req.version === 4
          ? encodeSocks4Reply(code, first.port, v4OrZero(first.address))
          : encodeSocks5Reply(code, first),
      );
      this.client.once('finish', () => this.client.destroy());
      return this.finish('wrong-peer');
    }
    this.outbound = got.socket;
    if (this.ctx.events) {
      this.emit({ type: 'outbound', local: got.local, remote: got.remote, via: 'bind' });
    }
    this.sendGranted(req, 'second', got.remote);
    this.log('notice', `connected -- ${run.reqdesc} (${peerServ})`);
    this.startRelay(run, got.socket, 0, null, peerHost.display, peerServ);
  }

  /**
   * While waiting for the BIND peer (or the upstream's second reply) the client is read into a
   * bounded buffer, so its closing is noticed at once (b.5.2) and its early bytes are kept.
   */
  private waitingEarly: Buffer[] = [];
  private waitingBytes = 0;
  private watchClientWhileWaiting(): void {
    const onData = (chunk: Buffer) => {
      this.waitingEarly.push(chunk);
      this.waitingBytes += chunk.length;
      if (this.waitingBytes >= MaxEarlyWhileWaiting) this.client.pause();
    };
    const onEnd = () => this.markGone();
    this.client.on('data', onData);
    this.client.once('end', onEnd);
    this.stopWatching = () => {
      this.client.off('data', onData);
      this.client.off('end', onEnd);
      this.client.pause();
    };
    this.client.resume();
  }
  private stopWatching: () => void = () => {};

  private async bindViaUpstream(run: RunState, route: RouteDecision): Promise<void> {
    const up = await this.dialUpstream(run, route);
    if (!up) return;
    const { req } = run;
    const sock = up.conn.socket;
    sock.write(this.upstreamRequest(run));
    let first: { value: Socks4ReplyMessage; rest: Buffer };
    try {
      first = await readMessage(sock, decodeSocks4Reply, 64);
    } catch (err) {
      if (this.finished) return;
      return this.fail(
        run,
        { kind: 'upstream-rejected', code: null },
        'bind()',
        systemErrorText(errnoOf(err) ?? 'ECONNRESET'),
      );
    }
    if (this.finished) return;
    if (first.value.code !== Socks4Code.Granted) {
      return this.fail(
        run,
        { kind: 'upstream-rejected', code: first.value.code },
        'bind()',
        systemErrorText('ECONNREFUSED'),
      );
    }
    // d.9: an upstream wildcard answer means "the server you talk to".
    const bound: Endpoint = {
      address: first.value.address === '0.0.0.0' ? up.conn.remote.address : first.value.address,
      port: first.value.port,
    };
    this.sendGranted(req, 'first', bound);
    this.watchClientWhileWaiting();
    const secondP = readMessage(sock, decodeSocks4Reply, 64, first.rest);
    const gone = new Promise<null>((resolve) => {
      this.goneHandlers.push(() => resolve(null));
    });
    let second: { value: Socks4ReplyMessage; rest: Buffer } | null;
    try {
      second = await Promise.race([secondP, gone]);
    } catch (err) {
      if (this.finished) return;
      this.stopWatching();
      return this.fail(
        run,
        { kind: 'upstream-rejected', code: null },
        'accept()',
        systemErrorText(errnoOf(err) ?? 'ECONNRESET'),
        bound,
      );
    }
    if (!second || this.finished) {
      sock.destroy();
      if (!this.finished) this.finish('client-gone');
      return;
    }
    this.clearEstablishTimer();
    const peer: Endpoint = { address: second.value.address, port: second.value.port };
    const peerServ = serviceLabel(peer.port, (p) => this.ctx.services.nameOf(p));
    if (second.value.code !== Socks4Code.Granted) {
      // The upstream checked the peer and logged it; we only know that it said no.
      this.log(
        'notice',
        `failed -- ${run.reqdesc}.  Error code: accept() ${systemErrorText('ECONNREFUSED')}`,
      );
      this.stopWatching();
      sock.destroy();
      // d.9: SOCKS 4 gets the upstream's code unchanged (VN 0); SOCKS 5 the wrong-peer REP.
      const code = req.version === 4 ? second.value.code : socks5RepFor({ kind: 'wrong-peer' });
      if (this.ctx.events) {
        this.emit({ type: 'reply', version: req.version, code, phase: 'second', bound: peer });
      }
      this.client.end(
        req.version === 4
          ? encodeSocks4Reply(code, peer.port, v4OrZero(peer.address))
          : encodeSocks5Reply(code, peer),
      );
      this.client.once('finish', () => this.client.destroy());
      return this.finish('upstream-wrong-peer');
    }
    this.sendGranted(req, 'second', peer);
    const peerHost = await hostFromAddress(this.ctx.resolver, peer.address);
    this.log('notice', `connected -- ${run.reqdesc} (${peerServ})`);
    this.startRelay(run, sock, 16, second.rest, peerHost.display, peerServ);
  }

  // ------------------------------------------------------------------ relay (b.6)

  private startRelay(
    run: RunState,
    remote: Socket,
    remoteHandshakeBytes: number,
    earlyRemote: Buffer | null,
    remoteHost: string,
    peerServ: string | null,
  ): void {
    this.stopWatching();
    this.stopWatching = noop;
    const parts: Buffer[] = [];
    if (run.early) parts.push(run.early);
    parts.push(...this.waitingEarly);
    this.waitingEarly = [];
    const early = parts.length === 0 ? null : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const relay = new Relay(this.client, remote, {
      clientHandshakeBytes: this.handshakeBytes,
      remoteHandshakeBytes,
      early,
      earlyRemote,
      idleMs: this.ctx.timers.relayIdle,
    });
    this.relay = relay;
    // The async steps that led here end now: a relaying session keeps only these three strings
    // for its termination log, not the request, the decision or the host records.
    const terminated = flat(`terminated -- ${run.reqdesc}${peerServ !== null ? ` (${peerServ})` : ''}.`);
    const srcHost = flat(run.src.display);
    const remoteName = flat(remoteHost);
    relay.done.then((result) => {
      this.fromClient = result.fromClient;
      this.fromRemote = result.fromRemote;
      this.log('notice', terminated);
      this.log(
        'notice',
        `${result.fromClient} bytes from ${srcHost}, ${result.fromRemote} bytes from ${remoteName}`,
      );
      this.finish(result.reason);
    }, noop);
  }
}

interface RunState {
  readonly req: ParsedRequest;
  readonly src: HostIdentity;
  readonly dst: HostIdentity;
  readonly dstServ: string;
  readonly reqdesc: string;
  readonly realUser: string;
  readonly early: Buffer | null;
  readonly decision: AccessDecision;
}

function noop(): void {}

/**
 * A log text built from many pieces is a tree of string nodes; a long-lived session keeps one
 * flat copy instead (slicing makes V8 flatten it and drop the pieces).
 */
function flat(text: string): string {
  return ` ${text}`.slice(1);
}

function v4OrZero(address: string): string {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(address) ? address : '0.0.0.0';
}

function isIp(text: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(text) || text.includes(':');
}

function fmtSeconds(ms: number): string {
  return String(Math.round(ms / 10) / 100);
}

export type { AccessOutcome };
