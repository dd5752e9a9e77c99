import { readFileSync } from 'node:fs';
import { systemClock } from '../common/clock.ts';
import { builtinServices } from '../config/services.ts';
import type { Conn, Listener } from '../net/net.ts';
import { parseUserFile } from '../policy/match.ts';
import type { UserFileReader } from '../policy/resolver.ts';
import { parsePasswdFile } from '../protocol/passwd-file.ts';
import { ShellCommandRunner } from './command-runner.ts';
import { netIdentdClient } from './identd-query.ts';
import { LiveList } from './live-list.ts';
import { defaultTimers, type ServerOptions, type ServerRules, type Timers } from './options.ts';
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
  private listener: Listener | null = null;
  private nextId = 1;
  private closing = false;
  private readonly maxSessions: number;
  /** Connections closed for the session bound since the last such log line, and its time. */
  private overflowUnreported = 0;
  private overflowLoggedAt = Number.NEGATIVE_INFINITY;
  private overflowTimer: { clear(): void } | null = null;

  constructor(private readonly options: ServerOptions) {
    this.rules = options.rules;
    this.maxSessions = options.maxSessions ?? DefaultMaxSessions;
    const clock = options.clock ?? systemClock;
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
    this.listener = await this.options.net.listen(
      {
        host: this.options.listen.host,
        port: this.options.listen.port,
        ...(this.options.backlog !== undefined ? { backlog: this.options.backlog } : {}),
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
    if (this.sessions.size >= this.maxSessions) {
      conn.socket.destroy();
      this.reportOverflow();
      return null;
    }
    this.awaitingReply++;
    const session = new Session(
      this.ctx,
      conn,
      String(this.nextId++),
      this.onSessionEnded,
      this.onSessionReplied,
    );
    this.sessions.add(session);
    return session;
  }

  private readonly onSessionReplied = (): void => {
    if (--this.awaitingReply === 0) this.options.onQuiet?.(this.isQuiet);
  };

  private readonly isQuiet = (): boolean => this.awaitingReply === 0;

  private readonly onSessionEnded = (session: Session): void => {
    this.sessions.delete(session);
  };

  /** At most one line a second about connections closed for the session bound. */
  private reportOverflow(): void {
    this.overflowUnreported++;
    const now = this.ctx.clock.now();
    const wait = this.overflowLoggedAt + 1000 - now;
    if (wait <= 0) this.writeOverflow(now);
    else this.overflowTimer ??= this.ctx.clock.setTimeout(() => this.writeOverflow(), wait);
  }

  private writeOverflow(now = this.ctx.clock.now()): void {
    this.overflowTimer?.clear();
    this.overflowTimer = null;
    const n = this.overflowUnreported;
    if (n === 0) return;
    this.overflowUnreported = 0;
    this.overflowLoggedAt = now;
    this.ctx.log?.write(
      'warning',
      `too many sessions (limit ${this.maxSessions}): closed ${n} connection${n === 1 ? '' : 's'} without a reply`,
    );
  }

  /**
   * Stop listening; with `drain`, let sessions finish for up to `timeoutMs`, then end the rest.
   * Without `drain`, end every session at once.
   */
  async close(
    options: { readonly drain: boolean; readonly timeoutMs?: number } = { drain: false },
  ): Promise<void> {
    this.closing = true;
    this.writeOverflow();
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
    for (const s of rest) s.abort();
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
 * The production user-file reader (c.8): read at match time, every time. Synchronous because the
 * policy contract is synchronous; only rules that name a user file pay for it.
 */
export const fsUserFileReader: UserFileReader = (path) => {
  try {
    return { ok: true, names: parseUserFile(readFileSync(path, 'utf8')) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const text =
      code === 'ENOENT'
        ? 'No such file or directory'
        : code === 'EACCES'
          ? 'Permission denied'
          : err instanceof Error
            ? err.message
            : String(err);
    return { ok: false, error: text };
  }
};
