import { systemClock } from '../common/clock.ts';
import { builtinServices } from '../config/services.ts';
import type { Conn, Listener } from '../net/net.ts';
import { parsePasswdFile } from '../protocol/passwd-file.ts';
import { ShellCommandRunner } from './command-runner.ts';
import { probeDescriptor } from './descriptor-probe.ts';
import { netIdentdClient } from './identd-query.ts';
import { LiveList } from './live-list.ts';
import { defaultTimers, type ServerOptions, type ServerRules, type Timers } from './options.ts';
import { RateLimitedReport } from './rate-limited-report.ts';
import { systemErrorText } from './replies.ts';
import { withLookupTimeout } from './resolvers.ts';
import { Session, type SessionContext } from './session.ts';

/**
 * The rsockd/sockd engine. One engine, two modes: `sockd` is `rsockd` with routing fixed to
 * direct (a.2). Rules are parsed before they get here (once per start/reload, or per connection
 * in inetd mode); `reload` swaps them atomically and sessions in flight keep the rules they
 * started with.
 *
 *   await using server = new SocksServer(options);
 *   const listener = await server.start();
 *   server.reload(newRules);
 *   await server.close({ drain: true, timeoutMs: 5000 });
 */
export class SocksServer implements AsyncDisposable {
  private rules: ServerRules;
  private readonly ctx: SessionContext;
  private readonly sessions = new LiveList<Session>();
  /** Sessions accepted whose client has not had its (first) reply yet. */
  private awaitingReply = 0;
  /** Sessions whose request has not been read in full yet. */
  private handshakes = 0;
  /** Per client address: its sessions and how many of them are still in the handshake. */
  private readonly perSource = new Map<string, SourceCount>();
  private listener: Listener | null = null;
  private nextId = 1;
  private closing = false;
  private readonly limits: Limits;
  /** One rate-limited log line per limit (connections closed unanswered at it). */
  private readonly refusals: Record<keyof Limits, RateLimitedReport>;
  /** Accept failures (EMFILE, ENFILE, …): one line a minute at most. */
  private readonly acceptErrors: RateLimitedReport;
  /** Until this time new connections are closed at once (descriptors ran out; see onAcceptError). */
  private backOffUntil = Number.NEGATIVE_INFINITY;
  private backOffMs = 0;
  private stuckTimer: { clear(): void } | null = null;
  /** When the descriptor headroom was last probed (descriptor-probe.ts). */
  private probedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: ServerOptions) {
    this.rules = options.rules;
    this.limits = resolveLimits(options);
    const clock = options.clock ?? systemClock;
    const refusal = (what: string, limit: number) =>
      new RateLimitedReport(clock, 1000, (n, from) =>
        options.log?.write(
          'warning',
          `${what} (limit ${limit}): closed ${n} connection${n === 1 ? '' : 's'} without a reply${from === '' ? '' : ` (the last from ${from})`}`,
        ),
      );
    const l = this.limits;
    this.refusals = {
      sessions: refusal('too many sessions', l.sessions),
      sessionsPerSource: refusal('too many sessions from one address', l.sessionsPerSource),
      handshakes: refusal('too many requests being read', l.handshakes),
      handshakesPerSource: refusal('too many requests being read from one address', l.handshakesPerSource),
    };
    this.acceptErrors = new RateLimitedReport(clock, 60_000, (n, detail) =>
      options.log?.write(
        'warning',
        `accept() failing: ${detail}, seen ${n} time${n === 1 ? '' : 's'}; new connections are closed unanswered while it lasts (back-off up to ${MaxBackOffMs / 1000} s)`,
      ),
    );
    const timers: Timers = { ...defaultTimers, ...options.timers };
    const passwd = options.passwd ? parsePasswdFile(options.passwd.text, options.passwd.file) : null;
    const services = options.services ?? builtinServices;
    this.ctx = {
      mode: options.mode,
      net: options.net,
      // b.7 DNS timer on every lookup, whatever resolver is injected.
      resolver: withLookupTimeout(options.resolver, timers.dnsLookup, clock),
      userFiles: options.userFiles,
      userFilesAsync: options.userFilesAsync,
      services,
      serviceNameOf: (port) => services.nameOf(port),
      identd: options.identd ?? netIdentdClient(options.net, clock),
      identdDefault: options.identdDefault,
      identdPort: options.identdPort,
      socks5: options.socks5,
      socks5Auth: options.socks5Auth ?? 'optional',
      passwd,
      timers,
      clock,
      keepAliveMs: options.keepAliveMs ?? DefaultKeepAliveMs,
      upstreamPort: options.upstreamPort ?? 1080,
      defaultServer: options.defaultServer,
      multihomed: options.multihomed ?? (options.rules.route !== undefined && options.rules.route !== null),
      routeConnect: options.routeConnect ?? false,
      routePath: options.routePath ?? '/etc/sockd.route',
      commands: options.commands ?? new ShellCommandRunner(),
      pid: options.pid ?? process.pid,
      hostLabel: options.hostLabel,
      events: options.events,
      log: options.log,
      rules: () => this.rules,
    };
  }

  /** Multi-homed mode in effect (a.3): forced by the option, else on when a route config exists. */
  get multihomed(): boolean {
    return this.ctx.multihomed;
  }

  /** Number of sessions in progress. */
  get activeSessions(): number {
    return this.sessions.size;
  }

  /** Bind the listen address and serve (standalone mode). */
  async start(): Promise<Listener> {
    if (this.listener) return this.listener;
    const keepAliveMs = this.ctx.keepAliveMs;
    this.listener = await this.options.net.listen(
      {
        host: this.options.listen.host,
        port: this.options.listen.port,
        ...(this.options.backlog !== undefined ? { backlog: this.options.backlog } : {}),
        ...(keepAliveMs > 0 ? { keepAliveMs } : {}),
        onAcceptError: (err) => this.onAcceptError(err),
      },
      (conn) => {
        this.accept(conn);
      },
    );
    return this.listener;
  }

  /** New rules for new sessions; sessions already running keep theirs. */
  reload(rules: ServerRules): void {
    this.rules = rules;
  }

  /** The rules new sessions use. */
  currentRules(): ServerRules {
    return this.rules;
  }

  /**
   * Serve one accepted connection (inetd mode hands fd 0 in here).
   * Resolves when the session has ended and its logs are written.
   */
  handleConnection(conn: Conn): Promise<void> {
    return this.accept(conn)?.done ?? Promise.resolve();
  }

  /** Start a session for a connection (null when it is refused unanswered); no promise of its own. */
  private accept(conn: Conn): Session | null {
    if (this.closing) {
      conn.socket.destroy();
      return null;
    }
    const now = this.ctx.clock.now();
    if (now - this.probedAt >= DescriptorProbeMs) this.probeDescriptors(now);
    if (this.backOffUntil > now) {
      conn.socket.destroy();
      return null;
    }
    const source = conn.remote.address;
    const count = this.perSource.get(source);
    const refused: keyof Limits | null =
      this.sessions.size >= this.limits.sessions
        ? 'sessions'
        : count !== undefined && count.sessions >= this.limits.sessionsPerSource
          ? 'sessionsPerSource'
          : this.handshakes >= this.limits.handshakes
            ? 'handshakes'
            : count !== undefined && count.handshakes >= this.limits.handshakesPerSource
              ? 'handshakesPerSource'
              : null;
    if (refused !== null) {
      conn.socket.destroy();
      this.refusals[refused].note(refused === 'sessions' || refused === 'handshakes' ? '' : source);
      return null;
    }
    if (count === undefined) this.perSource.set(source, { sessions: 1, handshakes: 1 });
    else {
      count.sessions++;
      count.handshakes++;
    }
    this.handshakes++;
    this.awaitingReply++;
    const session = new Session(
      this.ctx,
      conn,
      String(this.nextId++),
      this.onSessionEnded,
      this.onSessionReplied,
      this.onRequestRead,
    );
    this.sessions.add(session);
    if (this.stuckTimer === null) this.armStuckCheck();
    return session;
  }

  private readonly onSessionReplied = (): void => {
    if (--this.awaitingReply === 0) this.options.onQuiet?.(this.isQuiet);
  };

  private readonly isQuiet = (): boolean => this.awaitingReply === 0;

  /** A session's request is read (or it ended before): it no longer counts as a handshake. */
  private readonly onRequestRead = (session: Session): void => {
    this.handshakes--;
    const count = this.perSource.get(session.conn.remote.address);
    if (count !== undefined) count.handshakes--;
  };

  private readonly onSessionEnded = (session: Session): void => {
    this.sessions.delete(session);
    const source = session.conn.remote.address;
    const count = this.perSource.get(source);
    if (count !== undefined && --count.sessions === 0) this.perSource.delete(source);
  };

  /** See descriptor-probe.ts: accept failures for want of descriptors reach us only this way. */
  private probeDescriptors(now: number): void {
    this.probedAt = now;
    const code = (this.options.descriptorProbe ?? probeDescriptor)();
    if (code !== null) this.onAcceptError(Object.assign(new Error(code), { code }));
  }

  /**
   * Out of descriptors (EMFILE, ENFILE): libuv has already accepted and closed what was waiting.
   * A listening handle cannot be paused, so the back-off is on our side: connections accepted in
   * the next moments are closed at once instead of starting sessions whose dials would fail for
   * the same reason, leaving descriptors to the sessions already running. The window doubles
   * while failures go on (50 ms up to MaxBackOffMs) and starts small again after a quiet one.
   */
  private onAcceptError(err: NodeJS.ErrnoException): void {
    const now = this.ctx.clock.now();
    const code = err.code ?? 'unknown';
    if (code === 'EMFILE' || code === 'ENFILE') {
      const recent = now < this.backOffUntil + this.backOffMs;
      this.backOffMs = recent ? Math.min(MaxBackOffMs, Math.max(50, this.backOffMs * 2)) : 50;
      this.backOffUntil = now + this.backOffMs;
    }
    this.acceptErrors.note(`${systemErrorText(code)} (${code})`);
  }

  /**
   * The stuck-session check: every `stuckCheckMs`, relaying sessions with paused reads are asked
   * whether both their connections still exist (relay.ts endIfPeerGone). One timer for the
   * server, armed only while there are sessions.
   */
  private armStuckCheck(): void {
    const every = this.options.stuckCheckMs ?? DefaultStuckCheckMs;
    if (every <= 0 || this.closing) return;
    this.stuckTimer = this.ctx.clock.setTimeout(() => {
      this.stuckTimer = null;
      this.probeDescriptors(this.ctx.clock.now());
      for (const s of this.sessions.toArray()) s.endIfPeerGone();
      if (this.sessions.size > 0) this.armStuckCheck();
    }, every);
  }

  /**
   * Stop listening; with `drain`, let sessions finish for up to `timeoutMs`, then end the rest.
   * Without `drain`, end every session at once.
   */
  async close(
    options: { readonly drain: boolean; readonly timeoutMs?: number } = { drain: false },
  ): Promise<void> {
    this.closing = true;
    this.stuckTimer?.clear();
    this.stuckTimer = null;
    for (const r of Object.values(this.refusals)) r.flush();
    this.acceptErrors.flush();
    const listener = this.listener;
    this.listener = null;
    const closed = listener ? listener.close() : Promise.resolve();
    if (options.drain && this.sessions.size > 0) {
      const all = Promise.all(this.sessions.toArray().map((s) => s.done));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, options.timeoutMs ?? 30_000);
      });
      await Promise.race([all, timeout]);
      if (timer) clearTimeout(timer);
    }
    const rest = this.sessions.toArray();
    const why = options.drain
      ? `drain timeout (${(options.timeoutMs ?? 30_000) / 1000} s) at shutdown`
      : 'server shutdown';
    for (const s of rest) s.abort(why);
    await Promise.all(rest.map((s) => s.done));
    await closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close({ drain: false });
  }
}

/** Sessions in progress at most unless configured: far above what the tests and lab need. */
export const DefaultMaxSessions = 4096;
/**
 * One address's sessions at most unless configured: a quarter of the default total, so one host
 * (or one NAT) can never take every slot, yet a busy gateway is not cut short.
 */
export const DefaultMaxSessionsPerSource = 1024;
/** Sessions whose request is still being read, at most (a request takes one round trip). */
export const DefaultMaxHandshakes = 1024;
/** One address's sessions whose request is still being read, at most. */
export const DefaultMaxHandshakesPerSource = 128;
/** How often relaying sessions with paused reads are checked for a vanished peer (ms). */
export const DefaultStuckCheckMs = 10_000;
/** TCP keepalive on client connections: first probe after this much silence (ms). */
export const DefaultKeepAliveMs = 60_000;
/** At most this often (ms) an accept probes whether descriptors are left (descriptor-probe.ts). */
const DescriptorProbeMs = 100;
/** The longest accept back-off after EMFILE/ENFILE (ms). */
const MaxBackOffMs = 2000;

interface SourceCount {
  sessions: number;
  handshakes: number;
}

/** The four session limits in force (ServerOptions documents each default). */
export interface Limits {
  readonly sessions: number;
  readonly sessionsPerSource: number;
  readonly handshakes: number;
  readonly handshakesPerSource: number;
}

export function resolveLimits(o: {
  readonly maxSessions?: number | undefined;
  readonly maxSessionsPerSource?: number | undefined;
  readonly maxHandshakes?: number | undefined;
  readonly maxHandshakesPerSource?: number | undefined;
}): Limits {
  const sessions = o.maxSessions ?? DefaultMaxSessions;
  return {
    sessions,
    sessionsPerSource: o.maxSessionsPerSource ?? Math.min(sessions, DefaultMaxSessionsPerSource),
    handshakes: o.maxHandshakes ?? Math.min(sessions, DefaultMaxHandshakes),
    handshakesPerSource: o.maxHandshakesPerSource ?? Math.min(sessions, DefaultMaxHandshakesPerSource),
  };
}
