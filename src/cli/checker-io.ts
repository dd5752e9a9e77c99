/**
 * The I/O edge shared by test_sockd_conf and test_socks_conf: files, DNS, the shell. The policy
 * logic itself is in src/cli/checker.ts.
 */
import { spawn } from 'node:child_process';
import { Resolver as DnsResolver, lookup, lookupService } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import type { Resolver } from '../common/resolver.ts';
import { hostsFileResolver } from '../common/table-resolver.ts';
import type { AnyConfig } from '../config/ast.ts';
import { type ConfigPaths, loadConfigFile } from '../config/load.ts';
import { builtinServices, loadServices, parseServices, type ServiceTable } from '../config/services.ts';
import type { UserFileReader } from '../config/user-file.ts';
import { fsUserFileReader } from '../server/user-files.ts';
import { type CheckedCommand, errorRecord } from './checker.ts';

/** j.32: every lookup gives up after 10 s; a failure counts as "no answer". */
export const DefaultDnsTimeoutMs = 10_000;

function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
    timer.unref();
  });
  return Promise.race([promise.catch(() => fallback), timeout]).finally(() => clearTimeout(timer));
}

/**
 * The host's resolver. Reverse: getnameinfo (so /etc/hosts counts, as gethostbyaddr did) plus
 * the PTR records from DNS; forward: getaddrinfo, IPv4 only. Each lookup gives up after
 * `timeoutMs`; the policy then confirms reverse names by forward lookup (c.6).
 */
export function systemResolver(timeoutMs = DefaultDnsTimeoutMs): Resolver {
  const dns = new DnsResolver({ timeout: timeoutMs, tries: 1 });
  const none: string[] = [];
  return {
    reverse: async (address) => {
      const [service, ptr] = await Promise.all([
        withTimeout(
          lookupService(address, 0).then((r) => (r.hostname === address ? none : [r.hostname])),
          timeoutMs,
          none,
        ),
        withTimeout(dns.reverse(address), timeoutMs, none),
      ]);
      return [...new Set([...service, ...ptr])];
    },
    forward: (name) =>
      withTimeout(
        lookup(name, { family: 4, all: true }).then((list) => list.map((a) => a.address)),
        timeoutMs,
        none,
      ),
  };
}

/** `--hosts FILE`: `ip name [alias…]` lines answering both directions (tests, dry runs). */
export function hostsResolverFromFile(path: string): Resolver {
  return hostsFileResolver(readFileSync(path, 'utf8'));
}

/** `--services FILE` (or `builtin`: the standard Debian table); default /etc/services. */
export function servicesFrom(path: string | undefined): ServiceTable {
  if (path === 'builtin') return builtinServices;
  return path === undefined ? loadServices() : parseServices(readFileSync(path, 'utf8'));
}

export type Loaded<T> =
  | { readonly ok: true; readonly config: T; readonly from: string; readonly warnings: readonly string[] }
  | {
      readonly ok: false;
      readonly missing: boolean;
      readonly messages: readonly string[];
      readonly warnings: readonly string[];
    };

/**
 * Loads one configuration the way the server does (f.3: frozen file first, then text; parse
 * errors as the classic messages). `missingMessage` is what to say when neither file exists.
 */
export function loadConfig<K extends AnyConfig['kind']>(
  kind: K,
  paths: ConfigPaths,
  services: ServiceTable,
  missingMessage: string,
): Loaded<Extract<AnyConfig, { kind: K }>> {
  const result = loadConfigFile(kind, paths, { services });
  if ('config' in result)
    return { ok: true, config: result.config, from: result.from.path, warnings: result.warnings };
  if ('missing' in result)
    return { ok: false, missing: true, messages: [missingMessage], warnings: result.warnings };
  return { ok: false, missing: false, messages: result.errors, warnings: result.warnings };
}

/**
 * The configuration a tool checks against, its warnings printed: `-C` names a text file;
 * otherwise the server's own precedence (f.3), the frozen file first, then the text.
 */
export function loadCheckedConfig<K extends AnyConfig['kind']>(
  kind: K,
  explicit: string | undefined,
  otherwise: { readonly text: string; readonly frozen: string },
  services: ServiceTable,
): { readonly path: string; readonly loaded: Loaded<Extract<AnyConfig, { kind: K }>> } {
  const path = explicit ?? otherwise.text;
  const loaded = loadConfig(
    kind,
    explicit !== undefined ? { text: explicit } : otherwise,
    services,
    `Unable to open config file (${path})`,
  );
  for (const w of loaded.warnings) process.stderr.write(`${w}\n`);
  return { path, loaded };
}

/**
 * `-x`: runs one expanded command as the server would (c.10): `/bin/sh -c`, stdio to /dev/null,
 * waits at most `timeoutMs` and then leaves the child running.
 */
export function runShellCommand(
  runnable: string,
  timeoutMs = 60_000,
): Promise<'ran' | 'timeout' | 'spawn-failed'> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', runnable], { stdio: 'ignore' });
    const timer = setTimeout(() => {
      child.unref();
      resolve('timeout');
    }, timeoutMs);
    child.on('error', () => {
      clearTimeout(timer);
      resolve('spawn-failed');
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve('ran');
    });
  });
}

/** A tiny argv reader for the classic single-letter tools: flags, `-X value`, `--name[=value]`. */
export interface ParsedArgs {
  readonly flags: readonly string[];
  readonly values: ReadonlyMap<string, string>;
  readonly positionals: readonly string[];
}

export function readArgs(
  argv: readonly string[],
  spec: { readonly flags: readonly string[]; readonly withValue: readonly string[] },
): ParsedArgs | { readonly error: string } {
  const flags: string[] = [];
  const values = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (spec.flags.includes(name) && eq === -1) {
      flags.push(name);
      continue;
    }
    if (!spec.withValue.includes(name)) return { error: `unknown option ${arg}` };
    if (eq !== -1) {
      values.set(name, arg.slice(eq + 1));
      continue;
    }
    const value = argv[i + 1];
    if (value === undefined) return { error: `option ${name} needs a value` };
    values.set(name, value);
    i++;
  }
  return { flags, values, positionals };
}

/**
 * The argv step both tools begin with: the options read, `--json` noted, and a wrong option or a
 * wrong count of positional arguments ended as a usage error (its exit status returned instead).
 */
export function startChecker(
  tool: 'test_sockd_conf' | 'test_socks_conf',
  usage: string,
  argv: readonly string[],
  spec: {
    readonly flags: readonly string[];
    readonly withValue: readonly string[];
    readonly positionals: number;
  },
): { readonly args: ParsedArgs; readonly json: boolean; readonly fail: CheckerFailure } | 255 {
  const json = argv.includes('--json');
  const fail = checkerFailure(tool, usage, json);
  const args = readArgs(argv, spec);
  if ('error' in args) return fail([`${tool}: ${args.error}`], true);
  if (args.positionals.length !== spec.positionals) return fail([], true);
  return { args, json, fail };
}

/** What a check looks names and user files up with: `--hosts FILE` or this host's resolver; `--pid` (default this process) for `%p`. */
export function checkerLookups(values: ReadonlyMap<string, string>): {
  readonly resolver: Resolver;
  readonly userFiles: UserFileReader;
  readonly pid: number;
} {
  const hosts = values.get('--hosts');
  return {
    resolver: hosts === undefined ? systemResolver() : hostsResolverFromFile(hosts),
    userFiles: fsUserFileReader,
    pid: Number(values.get('--pid') ?? process.pid),
  };
}

/** Ends a run that could not be evaluated: messages, then the usage when asked; returns 255. */
export type CheckerFailure = (messages: readonly string[], showUsage: boolean) => 255;

/**
 * How a checker ends a run it could not evaluate: the messages (then the usage, when asked) on
 * stderr and, with --json, the error record on stdout. Returns the error exit code (255).
 */
export function checkerFailure(
  tool: 'test_sockd_conf' | 'test_socks_conf',
  usage: string,
  json: boolean,
): CheckerFailure {
  return (messages, showUsage) => {
    for (const m of messages) process.stderr.write(`${m}\n`);
    if (showUsage) process.stderr.write(`${usage}\n`);
    if (json) process.stdout.write(`${JSON.stringify(errorRecord(tool, messages))}\n`);
    return 255;
  };
}

/**
 * Prints an evaluated check: its lines on stderr (the usage after an unusable service|port
 * argument, f.5), runs its commands with -x, and with --json the record with what ran.
 */
export async function reportCheck<C>(
  result: {
    readonly lines: readonly string[];
    readonly exitCode: number;
    readonly commands: readonly CheckedCommand[];
    readonly record: { readonly commands: readonly C[] };
  },
  options: { readonly usage: string; readonly execute: boolean; readonly json: boolean },
): Promise<number> {
  for (const line of result.lines) process.stderr.write(`${line}\n`);
  if (result.exitCode === 255) process.stderr.write(`${options.usage}\n`);
  const ran: boolean[] = [];
  if (options.execute) {
    for (const c of result.commands) {
      ran.push(c.expanded.ok && (await runShellCommand(c.expanded.runnable)) !== 'spawn-failed');
    }
  }
  if (options.json) {
    const record = {
      ...result.record,
      commands: result.record.commands.map((c, i) => ({ ...c, ran: ran[i] ?? false })),
    };
    process.stdout.write(`${JSON.stringify(record)}\n`);
  }
  return result.exitCode;
}
