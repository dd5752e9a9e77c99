import type { Clock } from '../common/clock.ts';
import type { EventSink } from '../common/events.ts';
import type { Resolver } from '../common/resolver.ts';
import type { ClientConfig, IdentdMode, RouteConfig, ServerConfig } from '../config/ast.ts';
import type { ServiceTable } from '../config/services.ts';
import type { UserFileReader } from '../config/user-file.ts';
import type { Net } from '../net/net.ts';
import type { IdentdClient } from './identd-query.ts';
import type { AsyncUserFileReader } from './user-files.ts';

/**
 * How the engine is configured programmatically. The CLI (`rsockd`, `sockd`) builds this from
 * argv and files; the local runtime builds it from the topology. (Owned by the server module;
 * extend freely, rename only with every user.)
 */

/** A config that could not be used: every request reaching it is refused with 91 and these are logged. */
export interface UnusableConfig {
  readonly unusable: readonly string[];
}

export interface ServerRules {
  /** sockd.conf (or its frozen form). Unusable → refuse everything (c.1, c.12). */
  readonly server: ServerConfig | UnusableConfig;
  /** rsockd only. null = no file → everything direct (d.1). */
  readonly client?: ClientConfig | UnusableConfig | null;
  /** null = no route file. */
  readonly route?: RouteConfig | UnusableConfig | null;
}

/** b.7 timers, all in milliseconds. */
export interface Timers {
  readonly requestRead: number; // 120 s
  readonly dnsLookup: number; // 10 s
  readonly identd: number; // 15 s
  readonly establish: number; // 120 s
  readonly upstreamConnect: number; // 30 s
  readonly relayIdle: number; // 7200 s
  readonly shellCommand: number; // 60 s
}

export const defaultTimers: Timers = {
  requestRead: 120_000,
  dnsLookup: 10_000,
  identd: 15_000,
  establish: 120_000,
  upstreamConnect: 30_000,
  relayIdle: 7_200_000,
  shellCommand: 60_000,
};

/** The classic syslog-style log (h.4, h.6): exact message texts. */
export interface ClassicLog {
  write(level: 'notice' | 'err' | 'warning' | 'info', message: string): void;
}

/** Runs an expanded shell command (c.10). The lab substitutes a recorder. */
export interface CommandRunner {
  run(
    command: string,
    options: { readonly timeoutMs: number },
  ): Promise<{ readonly status: 'ran' | 'timeout' | 'spawn-failed'; readonly exitCode?: number | null }>;
}

/**
 * Everything `new SocksServer(options)` needs. Required: mode, net, listen, rules, identdDefault,
 * identdPort, socks5, resolver, userFiles. Everything else has a default.
 *
 * Notes for embedders (the local runtime):
 * - `net` must hand out half-open capable sockets (`allowHalfOpen: true`), or half-close (b.6)
 *   degrades to a full close. `Conn.local/remote` are what logs, events, identd queries and BIND
 *   peer checks use, so a virtual Net reports them in topology terms.
 * - The identd query goes through `net.connect({ host: client, port: identdPort,
 *   localAddress: <the client connection's local address> })` unless `identd` is given.
 * - BIND listens with `net.listen({ host: '0.0.0.0' | <route interface>, port: 0, backlog: 1 })`.
 * - Upstream servers are dialled at `<address>:upstreamPort` with `timeoutMs = timers.upstreamConnect`.
 * - Events carry `service = mode`, `pid`, `session` (per-server counter) and `host = hostLabel`.
 */
export interface ServerOptions {
  /** `sockd` = `rsockd` with routing fixed to direct (client rules ignored). */
  readonly mode: 'rsockd' | 'sockd';
  /** How to listen and dial (production: `nodeNet` from net/node-net.ts). */
  readonly net: Net;
  /** Used by `start()`; `handleConnection()` (inetd mode) does not need it. */
  readonly listen: { readonly host: string; readonly port: number };
  /** Parsed rules; `SocksServer.reload()` replaces them for new sessions. */
  readonly rules: ServerRules;
  /** c.9 global mode (`-i` lenient, `-I` strict, neither off). */
  readonly identdDefault: IdentdMode;
  /** Port of the clients' identd (113; tests use a high port). */
  readonly identdPort: number;
  /** Accept SOCKS 5 (first byte 5) as well as SOCKS 4 (i). */
  readonly socks5: boolean;
  /** `required`: SOCKS 5 clients must use method 0x02 (i.1). Default optional. */
  readonly socks5Auth?: 'optional' | 'required';
  /** RFC 1929 credentials file text (name:{plain}x / name:{sha256}hex); parsed once by the constructor. */
  readonly passwd?: { readonly file: string; readonly text: string } | null;
  /** All name resolution (c.6); the CLI wraps it in the b.7 DNS timer. */
  readonly resolver: Resolver;
  /** c.8 user files, read at match time. */
  readonly userFiles: UserFileReader;
  /**
   * Optional async reader (production: fs). When given, the engine reads the user files a config
   * names asynchronously just before matching, so the request path does no synchronous I/O.
   */
  readonly userFilesAsync?: AsyncUserFileReader;
  /** Structured LabEvents (request, identd, decision, command, route, upstream-attempt, outbound, reply, close, log). */
  readonly events?: EventSink;
  /** The classic h.6 log lines (each is also emitted as a `log` event). */
  readonly log?: ClassicLog;
  /** b.7 timers in ms; missing ones take `defaultTimers`. */
  readonly timers?: Partial<Timers>;
  readonly clock?: Clock;
  /** Port used for every upstream server (d.5); default 1080. */
  readonly upstreamPort?: number;
  /** d.6 default server (SOCKS_SERVER / --default-server). */
  readonly defaultServer?: string;
  /** Forced multi-homed mode; default: on when a route config is present (a.3). */
  readonly multihomed?: boolean;
  readonly commands?: CommandRunner;
  /** `%p` and log pid; default process.pid. */
  readonly pid?: number;
  /** Tag for events (`host` field). */
  readonly hostLabel?: string;
  /** `/etc/services` names for DSTSERV / PEERSERV / `%S` (c.7); default: the built-in Debian table. */
  readonly services?: ServiceTable;
  /** identd client (g.2); default: a query through `net` from the client connection's local address. */
  readonly identd?: IdentdClient;
  /** (e) extension `--route-connect`: bind outbound CONNECT sockets to the route file's interface. */
  readonly routeConnect?: boolean;
  /** Route file path for `Unable to open routing file (PATH)` when multi-homed without a route config. */
  readonly routePath?: string;
  /** Listen backlog in standalone mode (default 511). */
  readonly backlog?: number;
  /**
   * Sessions in progress at most (default 4096). A connection beyond it is closed at once, with
   * no reply, and logged at most once a second with the count of those closed since.
   */
  readonly maxSessions?: number;
  /**
   * Sessions from one client address at most (default 1024, or `maxSessions` when smaller); the
   * connection beyond it is closed unanswered and logged like the global bound, naming the address.
   */
  readonly maxSessionsPerSource?: number;
  /** Sessions whose request is still being read, at most (default 1024, or `maxSessions`). */
  readonly maxHandshakes?: number;
  /** Such sessions from one client address at most (default 128, or `maxSessions`). */
  readonly maxHandshakesPerSource?: number;
  /**
   * How often (ms) relaying sessions whose reads are paused are checked for a connection the
   * kernel no longer knows (peer reset, keepalive gave up); default 10 s, 0 = never.
   */
  readonly stuckCheckMs?: number;
  /** Whether a descriptor can still be opened: null or EMFILE/ENFILE (default: descriptor-probe.ts). */
  readonly descriptorProbe?: () => string | null;
  /** TCP keepalive on client connections, first probe after this much silence (ms); default 60 s, 0 = off. */
  readonly keepAliveMs?: number;
  /**
   * Called when no session is waiting for its reply any more (the last one got it or ended), with
   * a check that this is still so. Production uses it to collect garbage off every client's
   * critical path (quiet-gc.ts).
   */
  readonly onQuiet?: (stillQuiet: () => boolean) => void;
}
