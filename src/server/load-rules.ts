import { readFile, stat } from 'node:fs/promises';
import type { ClientConfig, RouteConfig, ServerConfig } from '../config/ast.ts';
import { ConfigFileError } from '../config/config-error.ts';
import type { ServiceTable } from '../config/services.ts';
import { parseSockdConf } from '../config/sockd-conf.ts';
import { checkLocalInterfaces, parseSockdRoute } from '../config/sockd-route.ts';
import { parseSocksConf } from '../config/socks-conf.ts';
import type { ServerRules, UnusableConfig } from './options.ts';

/**
 * Reads the three rule files into ServerRules (c.1, d.1, e, f.3): the frozen file first when it
 * exists, otherwise the text file. Invalid or unreadable files become UnusableConfig carrying the
 * classic messages, so the engine refuses with 91 and logs them; the caller decides whether that
 * is fatal (standalone start-up) or kept-old (reload).
 */

export interface RulePaths {
  readonly conf: string;
  readonly fc: string;
  readonly clientConf: string;
  readonly clientFc: string;
  readonly route: string;
  readonly fr: string;
}

export const defaultRulePaths: RulePaths = {
  conf: '/etc/sockd.conf',
  fc: '/etc/sockd.fc',
  clientConf: '/etc/socks.conf',
  clientFc: '/etc/socks.fc',
  route: '/etc/sockd.route',
  fr: '/etc/sockd.fr',
};

/** One file's outcome; `invalid` = the file exists but has errors (start-up exits 1 on sockd.conf). */
export type Loaded<T> =
  | { readonly status: 'ok'; readonly config: T; readonly path: string; readonly warnings: readonly string[] }
  | {
      readonly status: 'missing';
      readonly path: string;
      /** Why it could not be read (`No such file or directory`, `Permission denied`, …). */
      readonly reason: string;
    }
  | {
      readonly status: 'invalid';
      readonly path: string;
      /** The classic messages (c.12), one per error: what is logged. */
      readonly messages: readonly string[];
      /**
       * The same errors in compiler style (`file:line:col: what, expected …`, the line and a
       * caret), for the operator's terminal; empty when the file has no line to show (frozen).
       */
      readonly details?: readonly string[];
    };

export interface LoadedRules {
  readonly server: Loaded<ServerConfig>;
  readonly client: Loaded<ClientConfig> | null;
  readonly route: Loaded<RouteConfig>;
}

/** A frozen-file reader (f.6); provided by the config module once it has one. */
export type FrozenReader = (
  path: string,
  kind: 'sockd.conf' | 'socks.conf' | 'sockd.route',
) => Promise<ServerConfig | ClientConfig | RouteConfig>;

async function exists(path: string): Promise<{ mtimeMs: number } | null> {
  try {
    const s = await stat(path);
    return { mtimeMs: s.mtimeMs };
  } catch {
    return null;
  }
}

/** The errno of a failed read in the words of strerror(3), for the log. */
function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'No such file or directory';
  if (code === 'EACCES') return 'Permission denied';
  if (code === 'EISDIR') return 'Is a directory';
  return code ?? (err instanceof Error ? err.message : String(err));
}

async function loadOne<T extends ServerConfig | ClientConfig | RouteConfig>(
  textPath: string,
  frozenPath: string,
  kind: T['kind'],
  parse: (text: string, file: string) => T,
  frozen: FrozenReader | undefined,
): Promise<Loaded<T>> {
  const frozenStat = await exists(frozenPath);
  if (frozenStat) {
    const warnings: string[] = [];
    const textStat = await exists(textPath);
    if (textStat && textStat.mtimeMs > frozenStat.mtimeMs) {
      warnings.push(`frozen file ${frozenPath} is older than ${textPath}`);
    }
    if (!frozen) {
      return {
        status: 'invalid',
        path: frozenPath,
        messages: [`Error: read from ${frozenPath}: frozen files are not supported by this build`],
      };
    }
    try {
      return { status: 'ok', config: (await frozen(frozenPath, kind)) as T, path: frozenPath, warnings };
    } catch (err) {
      // ConfigError from the frozen reader carries the classic text (f.3.6).
      const classic = (err as { classic?: unknown }).classic;
      const reason = err instanceof Error ? err.message : String(err);
      return {
        status: 'invalid',
        path: frozenPath,
        messages: [typeof classic === 'string' ? classic : `Error: read from ${frozenPath}: ${reason}`],
      };
    }
  }
  let text: string;
  try {
    text = await readFile(textPath, 'latin1');
  } catch (err) {
    // Only a file that is not there is "missing" (refuse all / all direct / no routes). One that
    // is there but unreadable — a server that dropped to --user re-reading a root-only file on
    // SIGHUP — is an error, so a reload keeps its current rules instead of changing meaning.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { status: 'missing', path: textPath, reason: readFailure(err) };
    return {
      status: 'invalid',
      path: textPath,
      messages: [`Unable to open config file (${textPath}): ${readFailure(err)}`],
    };
  }
  try {
    return { status: 'ok', config: parse(text, textPath), path: textPath, warnings: [] };
  } catch (err) {
    if (err instanceof ConfigFileError)
      return {
        status: 'invalid',
        path: textPath,
        messages: err.classicMessages,
        details: err.errors.map((e) => e.message),
      };
    throw err;
  }
}

type RuleFileKind = 'sockd.conf' | 'socks.conf' | 'sockd.route';
interface ConfigOfKind {
  readonly 'sockd.conf': ServerConfig;
  readonly 'socks.conf': ClientConfig;
  readonly 'sockd.route': RouteConfig;
}

/** The text parser of each rule file (sockd.route knows no service names). */
const textParsers: {
  readonly [K in RuleFileKind]: (text: string, file: string, services?: ServiceTable) => ConfigOfKind[K];
} = {
  'sockd.conf': (text, file, services) => parseSockdConf(text, { file, ...(services ? { services } : {}) }),
  'socks.conf': (text, file, services) => parseSocksConf(text, { file, ...(services ? { services } : {}) }),
  'sockd.route': (text, file) => parseSockdRoute(text, { file }),
};

/**
 * One rule file's text, parsed as the server parses the file on start-up or reload: the local
 * runtime keeps its hosts' files in memory and hands a replaced text here, where a netns or
 * docker host writes the file and signals the server. Invalid text keeps its ConfigFileError.
 */
export function parseRuleText<K extends RuleFileKind>(
  kind: K,
  text: string,
  file: string,
  services?: ServiceTable,
):
  | { readonly ok: true; readonly config: ConfigOfKind[K] }
  | { readonly ok: false; readonly error: ConfigFileError } {
  try {
    return { ok: true, config: textParsers[kind](text, file, services) as ConfigOfKind[K] };
  } catch (err) {
    if (err instanceof ConfigFileError) return { ok: false, error: err };
    throw err;
  }
}

export interface LoadOptions {
  readonly paths: RulePaths;
  readonly mode: 'rsockd' | 'sockd';
  readonly services?: ServiceTable;
  readonly frozen?: FrozenReader;
}

export async function loadRuleFiles(options: LoadOptions): Promise<LoadedRules> {
  const { paths } = options;
  const svc = options.services;
  const [server, client, route] = await Promise.all([
    loadOne<ServerConfig>(
      paths.conf,
      paths.fc,
      'sockd.conf',
      (t, file) => textParsers['sockd.conf'](t, file, svc),
      options.frozen,
    ),
    options.mode === 'rsockd'
      ? loadOne<ClientConfig>(
          paths.clientConf,
          paths.clientFc,
          'socks.conf',
          (t, file) => textParsers['socks.conf'](t, file, svc),
          options.frozen,
        )
      : Promise.resolve(null),
    loadOne<RouteConfig>(
      paths.route,
      paths.fr,
      'sockd.route',
      (t, file) => textParsers['sockd.route'](t, file),
      options.frozen,
    ),
  ]);
  return { server, client, route };
}

function unusable(messages: readonly string[]): UnusableConfig {
  return { unusable: messages };
}

/** LoadedRules → ServerRules for the engine (no previous rules: inetd mode and start-up). */
export function toServerRules(loaded: LoadedRules): ServerRules {
  const s = loaded.server;
  const server =
    s.status === 'ok'
      ? s.config
      : s.status === 'missing'
        ? unusable([`Unable to open config file (${s.path})`])
        : unusable(s.messages);
  const c = loaded.client;
  const client =
    c === null || c.status === 'missing' ? null : c.status === 'ok' ? c.config : unusable(c.messages);
  const r = loaded.route;
  const route = r.status === 'missing' ? null : r.status === 'ok' ? r.config : unusable(r.messages);
  return { server, client, route };
}

/**
 * Reload (h.3): every file that is now invalid keeps its previous rules; so does every file that
 * was in use and can no longer be read (deleted, renamed away, unreadable mid-deploy), since
 * taking "missing" as the new state would refuse every request until the next SIGHUP. `errors`
 * are the lines to log for this reload, once each (not per request). A file that was missing
 * before and still is stays missing, without a message.
 */
export function mergeReload(
  previous: ServerRules,
  loaded: LoadedRules,
): { rules: ServerRules; errors: string[]; details: string[] } {
  const next = toServerRules(loaded);
  const errors: string[] = [];
  const details: string[] = [];
  const pick = <T>(prev: T, nxt: T, l: Loaded<unknown> | null): T => {
    if (l && l.status === 'invalid') {
      errors.push(...l.messages);
      details.push(...(l.details ?? []));
      return prev;
    }
    if (l && l.status === 'missing' && inUse(prev)) {
      errors.push(`Unable to open config file (${l.path}): ${l.reason}; keeping its previous rules`);
      return prev;
    }
    return nxt;
  };
  return {
    rules: {
      server: pick(previous.server, next.server, loaded.server),
      client: pick(previous.client ?? null, next.client ?? null, loaded.client),
      route: pick(previous.route ?? null, next.route ?? null, loaded.route),
    },
    errors,
    details,
  };
}

/** Rules that were loaded from a file (not absent, not the refuse-everything stand-in). */
function inUse(rules: unknown): boolean {
  return rules !== null && rules !== undefined && !(typeof rules === 'object' && 'unusable' in rules);
}

/** The compiler-style form of every error in the loaded files, in file order (server, client, route). */
export function loadErrorDetails(loaded: LoadedRules): string[] {
  const out: string[] = [];
  for (const l of [loaded.server, loaded.client, loaded.route])
    if (l && l.status === 'invalid') out.push(...(l.details ?? []));
  return out;
}

/**
 * e: a loaded sockd.route whose interface addresses are not local to this host. The file stays in
 * use (a BIND from such an interface then fails at bind() and says so); the errors are for the
 * log (`Interface address X at line N is not local`) and, compiler-style, for stderr.
 */
export function interfaceProblems(
  loaded: LoadedRules,
  local: { readonly addresses: readonly string[]; readonly isLocal: (addr: number) => boolean },
): { classic: string[]; details: string[] } {
  const r = loaded.route;
  if (r.status !== 'ok') return { classic: [], details: [] };
  const errors = checkLocalInterfaces(r.config, local.addresses, local.isLocal);
  return { classic: errors.map((e) => e.classic), details: errors.map((e) => e.message) };
}

/** Warnings of the loaded files (frozen older than text, f.3). */
export function loadWarnings(loaded: LoadedRules): string[] {
  const out: string[] = [];
  for (const l of [loaded.server, loaded.client, loaded.route])
    if (l && l.status === 'ok') out.push(...l.warnings);
  return out;
}
