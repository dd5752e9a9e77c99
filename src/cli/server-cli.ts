import cluster from 'node:cluster';
import { existsSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import v8 from 'node:v8';
import { systemClock } from '../common/clock.ts';
import { SockslabError } from '../common/errors.ts';
import type { EventSink } from '../common/events.ts';
import { escapeLogText, ReloadKeptNotice } from '../common/log-text.ts';
import type { Resolver } from '../common/resolver.ts';
import type { IdentdMode } from '../config/ast.ts';
import { readFrozenFile } from '../config/read-frozen.ts';
import { loadServices, type ServiceTable } from '../config/services.ts';
import { connOfSocket, socketFromFd } from '../net/node-net.ts';
import { productionNet } from '../net/production-net.ts';
import { closeInheritedDescriptors, descriptorOfPath } from '../server/inherited-fds.ts';
import {
  defaultRulePaths,
  interfaceProblems,
  type LoadedRules,
  loadErrorDetails,
  loadRuleFiles,
  loadWarnings,
  mergeReload,
  type RulePaths,
  toServerRules,
} from '../server/load-rules.ts';
import {
  fileWriter,
  JsonLinesSink,
  LineWriter,
  SyslogLog,
  TextLog,
  TextLogFlushDelayMs,
  teeSinks,
} from '../server/log-sinks.ts';
import type { ServerMetrics } from '../server/metrics.ts';
import type { MetricsEndpoint } from '../server/metrics-endpoint.ts';
import type { ClassicLog, ServerOptions, ServerRules, Timers } from '../server/options.ts';
import type { UserSpec } from '../server/privileges.ts';
import { quietCollector, v8YoungGeneration } from '../server/quiet-gc.ts';
import { SystemResolver, TableResolver, withCache } from '../server/resolvers.ts';
import { DefaultMaxSessions, SocksServer } from '../server/server.ts';
import { fsAsyncUserFileReader, fsUserFileReader } from '../server/user-files.ts';
import type { SignalBox } from './early-signals.ts';
import { localAddressTest } from './local-interfaces.ts';
import { type MetricsListen, parseMetricsAddress } from './metrics-address.ts';
import { type LimitArgs, limitUsage, limitValueOptions, parseLimitArgs } from './server-limit-args.ts';
import { type Privileges, privilegesFor, userOption } from './server-user.ts';

/**
 * The shared command line of `rsockd` and `sockd` (spec h.1, h.2, h.3). `rsockd.ts` and
 * `sockd.ts` are one-line entry points over `main`. Parsing is a pure function of argv and the
 * environment (`parseServerArgs`) so it is tested without processes.
 */

export type Program = 'rsockd' | 'sockd';

export interface ServerArgs {
  readonly program: Program;
  readonly version: boolean;
  readonly identdDefault: IdentdMode;
  readonly standalone: boolean;
  readonly listen: string;
  readonly port: number | undefined;
  readonly paths: RulePaths;
  readonly multihomed: boolean | undefined;
  readonly pidfile: string;
  readonly identdPort: number;
  readonly log: string;
  readonly logFormat: 'text' | 'json';
  readonly events: string | undefined;
  readonly socks5: boolean;
  readonly passwd: string;
  readonly passwdGiven: boolean;
  readonly socks5Auth: 'optional' | 'required';
  readonly defaultServer: string | undefined;
  readonly upstreamPort: number | undefined;
  readonly timers: Partial<Timers>;
  readonly hosts: string | undefined;
  readonly workers: number;
  readonly routeConnect: boolean;
  readonly drainTimeoutMs: number;
  /** Sessions in progress at most (`--max-sessions`, default 4096). */
  readonly maxSessions: number;
  /** `--user U[:G]`: the identity sessions, relays and hooks run as (server-user.ts). */
  readonly user: UserSpec | undefined;
  /** Per-source and handshake limits, stuck-session check, keepalive (server-limit-args.ts). */
  readonly limits: LimitArgs;
  /** Unknown single-dash arguments: warned about and ignored (h.1). */
  readonly warnings: readonly string[];
  /** `--metrics ADDR:PORT`: Prometheus /metrics and /healthz there (off by default). */
  readonly metrics: MetricsListen | undefined;
}

export class UsageError extends Error {}

const timerOptions: Readonly<Record<string, keyof Timers>> = {
  '--timeout-request': 'requestRead',
  '--timeout-identd': 'identd',
  '--timeout-establish': 'establish',
  '--timeout-upstream': 'upstreamConnect',
  '--timeout-idle': 'relayIdle',
  '--timeout-dns': 'dnsLookup',
  '--timeout-command': 'shellCommand',
};

const valueOptions = new Set([
  '--port',
  '--listen',
  '--conf',
  '--fc',
  '--client-conf',
  '--client-fc',
  '--route',
  '--fr',
  '--pidfile',
  '--identd-port',
  '--log',
  '--log-format',
  '--events',
  '--passwd',
  '--socks5-auth',
  '--default-server',
  '--upstream-port',
  '--hosts',
  '--workers',
  '--drain-timeout',
  '--max-sessions',
  '--user',
  ...limitValueOptions,
  '--metrics',
  ...Object.keys(timerOptions),
]);

const flagOptions = new Set([
  '--standalone',
  '--multihomed',
  '--single-homed',
  '--socks5',
  '--route-connect',
  '--help',
]);

function portNumber(option: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`${option}: expected a port number 0..65535, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function seconds(option: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`${option}: expected seconds (fractions allowed), got ${JSON.stringify(text)}`);
  }
  return Math.round(n * 1000);
}

/** A whole number ≥ 1 (`--workers`, `--max-sessions`). */
function positiveCount(option: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new UsageError(`${option}: expected a positive number, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** One of a few words (`--log-format`, `--socks5-auth`). */
function oneOf<const W extends string>(option: string, text: string, words: readonly W[]): W {
  if (!(words as readonly string[]).includes(text)) {
    throw new UsageError(`${option}: expected ${words.join(' or ')}, got ${JSON.stringify(text)}`);
  }
  return text as W;
}

/** The command line as read (h.1), before any value is checked. */
interface ArgvRead {
  readonly version: boolean;
  /** The last of -i/-I; `off` without either. */
  readonly identdDefault: IdentdMode;
  readonly flags: ReadonlySet<string>;
  readonly values: ReadonlyMap<string, string>;
  readonly warnings: readonly string[];
}

/** h.1: every argument is processed; last of -i/-I wins; unknown single-dash args are warned. */
function readArgv(argv: readonly string[]): ArgvRead {
  let version = false;
  let identdDefault: IdentdMode = 'off';
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const warnings: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-ver') version = true;
    else if (arg === '-i') identdDefault = 'lenient';
    else if (arg === '-I') identdDefault = 'strict';
    else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq > 0 ? arg.slice(0, eq) : arg;
      if (flagOptions.has(name)) {
        if (eq > 0) throw new UsageError(`${name} takes no value`);
        flags.add(name);
        if (name === '--multihomed') flags.delete('--single-homed');
        if (name === '--single-homed') flags.delete('--multihomed');
      } else if (valueOptions.has(name)) {
        const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
        if (value === undefined) throw new UsageError(`${name} needs a value`);
        values.set(name, value);
      } else {
        throw new UsageError(`unknown option ${name}`);
      }
    } else if (arg.startsWith('-')) {
      warnings.push(`unknown option ${arg} ignored`);
    } else {
      warnings.push(`unexpected argument ${arg} ignored`);
    }
  }
  return { version, identdDefault, flags, values, warnings };
}

/** h.2: each rule file from its option, else its environment variable, else the default path. */
function rulePathsFrom(
  v: (name: string) => string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): RulePaths {
  return {
    conf: v('--conf') ?? env.SOCKD_CONF ?? defaultRulePaths.conf,
    fc: v('--fc') ?? env.SOCKD_FC ?? defaultRulePaths.fc,
    clientConf: v('--client-conf') ?? env.SOCKS_CONF ?? defaultRulePaths.clientConf,
    clientFc: v('--client-fc') ?? env.SOCKS_FC ?? defaultRulePaths.clientFc,
    route: v('--route') ?? env.SOCKD_ROUTE ?? defaultRulePaths.route,
    fr: v('--fr') ?? env.SOCKD_FR ?? defaultRulePaths.fr,
  };
}

/** The `--timeout-*` options given, in ms. */
function timersFrom(v: (name: string) => string | undefined): Partial<Timers> {
  const timers: Partial<Record<keyof Timers, number>> = {};
  for (const [opt, key] of Object.entries(timerOptions)) {
    const text = v(opt);
    if (text !== undefined) timers[key] = seconds(opt, text);
  }
  return timers;
}

/**
 * The server's command line (h.1, h.2): argv read as the original reads it, then each value
 * checked and defaulted, the environment filling in what the options leave open.
 */
export function parseServerArgs(
  program: Program,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ServerArgs {
  const { version, identdDefault, flags, values, warnings } = readArgv(argv);
  if (flags.has('--help')) throw new UsageError('help');
  const v = (name: string) => values.get(name);
  const paths = rulePathsFrom(v, env);
  const timers = timersFrom(v);
  const logFormat = oneOf('--log-format', v('--log-format') ?? 'text', ['text', 'json']);
  const auth = oneOf('--socks5-auth', v('--socks5-auth') ?? 'optional', ['optional', 'required']);
  const workers = positiveCount('--workers', v('--workers') ?? '1');
  const maxSessions = positiveCount('--max-sessions', v('--max-sessions') ?? String(DefaultMaxSessions));
  const port = v('--port');
  const upstream = v('--upstream-port');
  const identdPort = v('--identd-port');
  const drain = v('--drain-timeout');
  return {
    program,
    version,
    identdDefault,
    standalone: flags.has('--standalone'),
    listen: v('--listen') ?? '0.0.0.0',
    port: port === undefined ? undefined : portNumber('--port', port),
    paths,
    multihomed: flags.has('--multihomed') ? true : flags.has('--single-homed') ? false : undefined,
    pidfile: v('--pidfile') ?? '/etc/sockd.pid',
    identdPort: identdPort === undefined ? 113 : portNumber('--identd-port', identdPort),
    log: v('--log') ?? 'syslog',
    logFormat,
    events: v('--events'),
    socks5: flags.has('--socks5'),
    passwd: v('--passwd') ?? '/etc/sockd.passwd',
    passwdGiven: values.has('--passwd'),
    socks5Auth: auth,
    // d.6: SOCKS_SERVER wins over the option.
    defaultServer: env.SOCKS_SERVER || v('--default-server'),
    upstreamPort: upstream === undefined ? undefined : portNumber('--upstream-port', upstream),
    timers,
    hosts: v('--hosts'),
    workers,
    routeConnect: flags.has('--route-connect'),
    drainTimeoutMs: drain === undefined ? 30_000 : seconds('--drain-timeout', drain),
    maxSessions,
    user: userOption(v('--user'), (m) => new UsageError(m)),
    limits: parseLimitArgs(v, (message) => {
      throw new UsageError(message);
    }),
    warnings,
    metrics: metricsOption(v('--metrics')),
  };
}

function metricsOption(text: string | undefined): MetricsListen | undefined {
  if (text === undefined) return undefined;
  const listen = parseMetricsAddress(text);
  if (!listen) {
    throw new UsageError(`--metrics: expected ADDR:PORT or [V6ADDR]:PORT, got ${JSON.stringify(text)}`);
  }
  return listen;
}

/** h.1 `-ver` text: TAB-led lines; exit status 1 (Original). */
export function versionText(program: Program, multihomed: boolean, socks5: boolean): string {
  const homed = multihomed ? 'multi-homed' : 'single-homed';
  const what = program === 'rsockd' ? 'SOCKSified SOCKS proxy server' : 'SOCKS proxy server';
  const lines = [
    `\tCSTC ${homed} ${what} version 4.3.`,
    '\tDoes not support clients that use Rrcmd().',
    '\tSupports SOCKS 4A.',
  ];
  if (socks5) lines.push('\tSupports SOCKS 5 (RFC 1928, RFC 1929).');
  return `${lines.join('\n')}\n`;
}

export const usageText = (program: Program) =>
  `usage: ${program} [-ver | -i | -I] [--standalone] [--listen ADDR] [--port N] [--conf PATH] [--fc PATH]
       [--client-conf PATH] [--client-fc PATH] [--route PATH] [--fr PATH] [--multihomed | --single-homed]
       [--pidfile PATH] [--identd-port N] [--log syslog|stderr|FILE] [--log-format text|json] [--events FILE]
       [--socks5] [--passwd PATH] [--socks5-auth optional|required] [--default-server HOST] [--upstream-port N]
       [--timeout-request S] [--timeout-identd S] [--timeout-establish S] [--timeout-upstream S]
       [--timeout-idle S] [--timeout-dns S] [--timeout-command S] [--hosts FILE] [--workers N]
       [--route-connect] [--drain-timeout S] [--max-sessions N] [--user USER[:GROUP]] [--metrics ADDR:PORT]
       ${limitUsage}
`;

// ---------------------------------------------------------------------------- running

interface Outputs {
  readonly log: ClassicLog | undefined;
  readonly events: EventSink | undefined;
  /** `--metrics`: counted from the same events (metrics.ts). */
  readonly metrics: ServerMetrics | undefined;
  /** Warnings and start-up errors for the operator (the log, plus stderr when the log is not stderr). */
  warn(message: string): void;
  flush(): void;
}

function openOutputs(args: ServerArgs, privileges: Privileges, metrics: ServerMetrics | undefined): Outputs {
  const ident = args.program;
  const pid = process.pid;
  const flushers: LineWriter[] = [];
  const stderrWriter = new LineWriter(process.stderr, 2);
  flushers.push(stderrWriter);
  let classic: ClassicLog | undefined;
  let jsonOut: LineWriter | undefined;
  let syslog: SyslogLog | null = null;
  const early: string[] = [];
  if (args.log === 'syslog') {
    syslog = SyslogLog.open(ident, pid, '/dev/log', privileges.identity);
    if (!syslog) {
      early.push('syslog socket /dev/log is not available; logging to stderr');
      if (args.logFormat === 'json') jsonOut = stderrWriter;
      else classic = new TextLog(stderrWriter, ident, pid);
    } else if (args.logFormat === 'json') {
      jsonOut = stderrWriter; // syslog lines are text; JSON events go to stderr
      early.push('--log-format json with syslog: events are written to stderr');
    } else classic = syslog;
  } else {
    const writer =
      args.log === 'stderr'
        ? stderrWriter
        : fileWriter(args.log, args.logFormat === 'json' ? undefined : TextLogFlushDelayMs).writer;
    if (writer !== stderrWriter) flushers.push(writer);
    if (args.logFormat === 'json') jsonOut = writer;
    else classic = new TextLog(writer, ident, pid);
  }
  const sinks: EventSink[] = [];
  if (jsonOut) sinks.push(new JsonLinesSink(jsonOut));
  if (args.events) {
    const w = fileWriter(args.events).writer;
    flushers.push(w);
    sinks.push(new JsonLinesSink(w));
  }
  if (metrics) sinks.push(metrics);
  const events = sinks.length > 0 ? teeSinks(sinks) : undefined;
  const warn = (message: string) => {
    if (classic) classic.write('warning', message);
    events?.emit({ t: Date.now(), service: ident, pid, type: 'log', level: 'warning', message });
    if (args.log !== 'stderr') stderrWriter.write(`${ident}: ${escapeLogText(message)}\n`);
  };
  for (const m of early) warn(m);
  return {
    log: classic,
    events,
    metrics,
    warn,
    flush() {
      for (const f of flushers) f.flushSync();
      syslog?.close();
    },
  };
}

/**
 * The metrics of a process that serves sessions (standalone, not a --workers primary). The count
 * of open connections is read from the server at scrape time, once there is one.
 */
let liveServer: SocksServer | null = null;
async function metricsSink(args: ServerArgs): Promise<ServerMetrics | undefined> {
  if (!args.metrics || !args.standalone || (args.workers > 1 && cluster.isPrimary)) return undefined;
  // Loaded only here: prom-client costs about a third of a server's start-up CPU (an inetd-mode
  // server starts once per connection), and most servers run without --metrics.
  const { ServerMetrics } = await import('../server/metrics.ts');
  return new ServerMetrics({ connections: () => liveServer?.activeSessions ?? 0 });
}

function socksPort(services: ServiceTable): number {
  return services.portOf('socks') ?? 1080;
}

async function buildResolver(args: ServerArgs): Promise<Resolver> {
  const inner: Resolver = args.hosts
    ? new TableResolver(await readFile(args.hosts, 'utf8'))
    : new SystemResolver();
  // The engine bounds every lookup with the DNS timer; standalone servers also cache answers.
  return args.standalone ? withCache(inner, systemClock) : inner;
}

function resolveMultihomed(args: ServerArgs): boolean {
  if (args.multihomed !== undefined) return args.multihomed;
  return existsSync(args.paths.fr) || existsSync(args.paths.route);
}

function loadPasswd(args: ServerArgs): { file: string; text: string } | null {
  if (!args.socks5) return null;
  try {
    return { file: args.passwd, text: readFileSync(args.passwd, 'utf8') };
  } catch (err) {
    if (args.passwdGiven) throw err;
    return null;
  }
}

function serverOptions(
  args: ServerArgs,
  rules: ServerRules,
  out: Outputs,
  resolver: Resolver,
  services: ServiceTable,
  multihomed: boolean,
): ServerOptions {
  return {
    mode: args.program,
    // RSOCKD_NET=node runs on node:net instead of bare libuv handles (for comparisons).
    net: productionNet(process.env.RSOCKD_NET === 'node' ? 'node' : 'uv', {
      clusterWorker: cluster.isWorker,
      onFallback: (why) => netFallback(args, out, why),
    }),
    listen: { host: args.listen, port: args.port ?? socksPort(services) },
    rules,
    identdDefault: args.identdDefault,
    identdPort: args.identdPort,
    socks5: args.socks5,
    socks5Auth: args.socks5Auth,
    passwd: loadPasswd(args),
    resolver,
    userFiles: fsUserFileReader,
    userFilesAsync: fsAsyncUserFileReader,
    ...(out.events ? { events: out.events } : {}),
    ...(out.log ? { log: out.log } : {}),
    timers: args.timers,
    upstreamPort: args.upstreamPort ?? socksPort(services),
    ...(args.defaultServer ? { defaultServer: args.defaultServer } : {}),
    multihomed,
    routeConnect: args.routeConnect,
    routePath: args.paths.route,
    services,
    maxSessions: args.maxSessions,
    ...args.limits,
    ...quietGc(args),
  };
}

/**
 * Said once per process. inetd may hand the client's socket over as stderr too, so an inetd-mode
 * process says it in the log only.
 */
function netFallback(args: ServerArgs, out: Outputs, why: string): void {
  const message = `serving on node:net: bare libuv handles are not usable (${why})`;
  if (args.standalone) out.warn(message);
  else out.log?.write('warning', message);
}

/**
 * Young collections at quiet moments (quiet-gc.ts) for a standalone server; RSOCKD_QUIET_GC=0
 * leaves them to V8 (for comparisons). An inetd-mode process serves one connection and exits:
 * it would only pay the set-up (a V8 context, some 2 ms and 1.5 MiB).
 */
function quietGc(args: ServerArgs): Pick<ServerOptions, 'onQuiet'> {
  if (!args.standalone || process.env.RSOCKD_QUIET_GC === '0') return {};
  const young = v8YoungGeneration();
  return young ? { onQuiet: quietCollector(young) } : {};
}

/** The rule files this server reads, as its options name them (start-up, inetd, every reload). */
function loadRules(args: ServerArgs, services: ServiceTable): Promise<LoadedRules> {
  return loadRuleFiles({ paths: args.paths, mode: args.program, services, frozen: readFrozenFile });
}

function logLoadProblems(loaded: LoadedRules, out: Outputs, args: ServerArgs, multihomed: boolean): void {
  for (const w of loadWarnings(loaded)) out.warn(w);
  // e: a multi-homed server's route file names interfaces of this host (checked at every load).
  if (multihomed) {
    const problems = interfaceProblems(loaded, localAddressTest());
    for (const m of problems.classic) out.log?.write('err', m);
    printDetails(args, problems.details);
  }
}

/** Entry point of both binaries; returns the exit status. */
export async function main(
  program: Program,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  signals: SignalBox,
): Promise<number> {
  let args: ServerArgs;
  try {
    args = parseServerArgs(program, argv, env);
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message !== 'help') process.stderr.write(`${program}: ${err.message}\n`);
      process.stderr.write(usageText(program));
      return err.message === 'help' ? 0 : 2;
    }
    throw err;
  }
  const multihomed = resolveMultihomed(args);
  if (args.version) {
    process.stdout.write(versionText(program, multihomed, args.socks5));
    return 1;
  }
  const privileges = privilegesFor(args);
  // c.10: shell commands get no descriptor rsockd inherited; close them all (a log path naming
  // one through /dev/fd/N once it is open).
  const named = [args.log, args.events].map((p) => (p === undefined ? undefined : descriptorOfPath(p)));
  closeInheritedDescriptors(new Set(named.filter((fd) => fd !== undefined)));
  const out = openOutputs(args, privileges, await metricsSink(args));
  closeInheritedDescriptors();
  privileges.started(out);
  for (const w of args.warnings) out.warn(w);
  // The benchmark measures memory after a forced collection: under `node --expose-gc`, SIGUSR2 runs one
  // (without the flag it is ignored rather than ending the server, SIGUSR2's default).
  signals.take('SIGUSR2', () => (globalThis as { gc?: () => void }).gc?.());
  try {
    const services = loadServices();
    const resolver = await buildResolver(args);
    const started: StartedServer = { args, out, resolver, services, multihomed, privileges, signals };
    return await (args.standalone ? runStandalone(started) : runInetd(started));
  } finally {
    out.flush();
  }
}

/** What both modes run with: the parsed command line, the opened outputs and the lookups. */
interface StartedServer {
  readonly args: ServerArgs;
  readonly out: Outputs;
  readonly resolver: Resolver;
  readonly services: ServiceTable;
  readonly multihomed: boolean;
  readonly privileges: Privileges;
  readonly signals: SignalBox;
}

/** inetd mode (h.3): the connected socket is fd 0; configs are read for this connection. */
async function runInetd(started: StartedServer): Promise<number> {
  const { args, out, resolver, services, multihomed, privileges } = started;
  if (args.metrics) out.log?.write('warning', '--metrics is for --standalone servers; ignored in inetd mode');
  // One connection, its rules read for it: a SIGHUP has nothing to reload and stays held (ignored);
  // SIGTERM/SIGINT end the process as they would by default (early-signals.ts).
  const loaded = await loadRules(args, services);
  logLoadProblems(loaded, out, args, multihomed);
  const server = new SocksServer(
    serverOptions(args, toServerRules(loaded), out, resolver, services, multihomed),
  );
  privileges.drop(out);
  let socket: import('node:net').Socket;
  try {
    socket = socketFromFd(0);
  } catch {
    out.log?.write('notice', 'error -- unable to get client address.');
    return 1;
  }
  const conn = connOfSocket(socket);
  if (conn.remote.address === '') {
    out.log?.write('notice', 'error -- unable to get client address.');
    socket.destroy();
    return 1;
  }
  await server.handleConnection(conn);
  return 0;
}

/** Standalone mode (h.3): bind, pid file, SIGHUP reload, SIGTERM drain. `--workers N` uses node:cluster. */
async function runStandalone(started: StartedServer): Promise<number> {
  const { args, out, resolver, services, multihomed, privileges, signals } = started;
  const loaded = await loadRules(args, services);
  // Every config error also in compiler style (file:line:col, the line, a caret) for the operator.
  printDetails(args, loadErrorDetails(loaded));
  if (loaded.server.status === 'invalid') {
    // c.12: at start-up every error is printed and the server exits 1.
    for (const m of loaded.server.messages) {
      process.stderr.write(`${m}\n`);
      out.log?.write('err', m);
    }
    return 1;
  }
  if (args.workers > 1 && cluster.isPrimary) return runPrimary(args, out, signals);
  logLoadProblems(loaded, out, args, multihomed);
  let rules = toServerRules(loaded);
  for (const l of [rules.client, rules.route]) {
    if (l && 'unusable' in l) for (const m of l.unusable) out.log?.write('err', m);
  }
  const server = new SocksServer(serverOptions(args, rules, out, resolver, services, multihomed));
  try {
    await server.start();
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    process.stderr.write(
      `${args.program}: cannot listen on ${args.listen}:${args.port ?? socksPort(services)}: ${text}\n`,
    );
    return 1;
  }
  const isWorker = cluster.isWorker;
  let stopping = false;
  liveServer = server;
  const metricsEndpoint = await startOwnMetrics(args, out, () => !stopping, isWorker);
  if (metricsEndpoint === 'failed') {
    await server.close({ drain: false });
    return 1;
  }
  if (!isWorker) writePidfile(args, out);
  privileges.drop(out);
  let reloading = Promise.resolve();
  const onHup = () => {
    reloading = reloading.then(async () => {
      const next = await loadRules(args, services);
      logLoadProblems(next, out, args, multihomed);
      const merged = mergeReload(rules, next);
      for (const e of merged.errors) out.log?.write('err', e);
      printDetails(args, merged.details);
      if (merged.errors.length > 0) out.log?.write('notice', ReloadKeptNotice);
      rules = merged.rules;
      server.reload(rules);
      out.metrics?.reloaded(merged.errors.length > 0 ? 'kept-previous' : 'ok');
    });
  };
  signals.take('SIGHUP', onHup);
  await new Promise<void>((resolve) => {
    const onTerm = () => {
      if (stopping) {
        void server.close({ drain: false }).then(resolve);
        return;
      }
      stopping = true;
      void server.close({ drain: true, timeoutMs: args.drainTimeoutMs }).then(resolve);
    };
    signals.take('SIGTERM', onTerm);
    signals.take('SIGINT', onTerm);
    if (isWorker) process.on('disconnect', onTerm);
  });
  signals.release('SIGHUP');
  await metricsEndpoint?.close();
  if (!isWorker) removePidfile(args);
  return 0;
}

/** `--metrics` of a process that serves sessions; 'failed' when its address cannot be bound. */
async function startOwnMetrics(
  args: ServerArgs,
  out: Outputs,
  healthy: () => boolean,
  worker: boolean,
): Promise<MetricsEndpoint | null | 'failed'> {
  if (!args.metrics || !out.metrics) return null;
  try {
    const { serveOwnMetrics } = await import('./server-metrics.ts');
    return await serveOwnMetrics(args.metrics, out.metrics, healthy, worker);
  } catch (err) {
    metricsListenFailed(args, args.metrics, err);
    return 'failed';
  }
}

function metricsListenFailed(args: ServerArgs, listen: MetricsListen, err: unknown): void {
  const text = err instanceof Error ? err.message : String(err);
  process.stderr.write(
    `${args.program}: --metrics: cannot listen on ${listen.host}:${listen.port}: ${text}\n`,
  );
}

/** Config errors in compiler style on stderr, each block prefixed with the program name. */
function printDetails(args: ServerArgs, details: readonly string[]): void {
  for (const d of details) process.stderr.write(`${args.program}: ${d}\n`);
}

/**
 * The pid file names this process only while it runs: it is removed on every way out that runs
 * code (a drained stop, process.exit, an uncaught exception), not only the orderly one. SIGKILL
 * leaves it, and the next start overwrites it.
 */
function writePidfile(args: ServerArgs, out: Outputs): void {
  try {
    // Written whole or not at all (a temporary file renamed over it): whoever reads the pid file
    // never sees it empty or half written.
    const temporary = `${args.pidfile}.${process.pid}.tmp`;
    writeFileSync(temporary, `${process.pid}\n`);
    renameSync(temporary, args.pidfile);
    process.once('exit', () => removePidfile(args));
  } catch (err) {
    out.warn(`cannot write pid file ${args.pidfile}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function removePidfile(args: ServerArgs): void {
  try {
    if (readFileSync(args.pidfile, 'utf8').trim() === String(process.pid)) unlinkSync(args.pidfile);
  } catch {
    // already gone
  }
}

/** `--workers N`: the primary forks N workers sharing the listener and forwards SIGHUP/SIGTERM. */
async function runPrimary(args: ServerArgs, out: Outputs, signals: SignalBox): Promise<number> {
  writePidfile(args, out);
  const workers = new Set<import('node:cluster').Worker>();
  let stopping = false;
  const fork = () => {
    const w = cluster.fork();
    workers.add(w);
    w.on('exit', () => {
      workers.delete(w);
      if (!stopping) {
        out.warn(`worker ${w.process.pid} exited; starting another`);
        setTimeout(fork, 500).unref();
      }
    });
  };
  for (let i = 0; i < args.workers; i++) fork();
  let metricsEndpoint: MetricsEndpoint | null = null;
  if (args.metrics) {
    try {
      const { serveWorkersMetrics } = await import('./server-metrics.ts');
      metricsEndpoint = await serveWorkersMetrics(args.metrics, () => !stopping && workers.size > 0);
    } catch (err) {
      metricsListenFailed(args, args.metrics, err);
      stopping = true;
      for (const w of workers) w.process.kill('SIGTERM');
      return 1;
    }
  }
  signals.take('SIGHUP', () => {
    for (const w of workers) w.process.kill('SIGHUP');
  });
  await new Promise<void>((resolve) => {
    const onTerm = () => {
      stopping = true;
      for (const w of workers) w.process.kill('SIGTERM');
      const check = () => (workers.size === 0 ? resolve() : setTimeout(check, 50));
      check();
    };
    signals.take('SIGTERM', onTerm);
    signals.take('SIGINT', onTerm);
  });
  await metricsEndpoint?.close();
  removePidfile(args);
  return 0;
}

/** Run `main` and exit with its status (only CLI files may call process.exit). */
export function run(program: Program, signals: SignalBox): void {
  // V8 grows the young generation under a burst of allocation (accepting a thousand connections
  // is one) and keeps it grown: tens of MiB a server holding idle connections never needs. A
  // young generation that stays at its initial size costs a few more scavenges and no measurable
  // throughput (test/bench: 1-hop and 3-hop rows), and saves several KiB per idle connection.
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  // A young collection here finds little alive (the sessions in flight), so one thread finishes it
  // sooner than it takes to wake helper threads and wait for them, and the helpers no longer take
  // a core from the clients and servers the proxy talks to. Measured on 2 cores under connection
  // load: mean pause 0.3 against 0.5 ms, the slowest 0.9 against 2.7 ms.
  v8.setFlagsFromString('--no-parallel-scavenge');
  main(program, process.argv.slice(2), process.env, signals).then(
    (code) => {
      process.exitCode = code;
      // Let pending writes drain, then leave even if a stray handle is still open.
      setTimeout(() => process.exit(code), 50).unref();
    },
    (err: unknown) => {
      // Start-up problems we can name (bad passwd or --hosts file) exit 1 like an invalid
      // sockd.conf (c.12), with the message only; anything else is a bug and shows its stack.
      const known = err instanceof SockslabError || (err as NodeJS.ErrnoException).syscall !== undefined;
      const text = known
        ? (err as Error).message
        : err instanceof Error
          ? (err.stack ?? err.message)
          : String(err);
      process.stderr.write(`${program}: ${text}\n`);
      process.exit(known ? 1 : 2);
    },
  );
}
