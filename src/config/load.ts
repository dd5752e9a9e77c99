/**
 * The one place that reads configuration files: frozen form first, then text (spec c.1, d.1, e,
 * f.3). A frozen file that exists but cannot be used is an error — never a silent fallback to the
 * text file. Callers decide what "missing" means for their kind (refuse all, all direct, ...).
 */
import { readFileSync, statSync } from 'node:fs';
import type { AnyConfig, ClientConfig, RouteConfig, ServerConfig } from './ast.ts';
import { ConfigError, ConfigFileError, unreadableError } from './config-error.ts';
import { thaw } from './frozen.ts';
import { frozenError } from './frozen-error.ts';
import type { ServiceTable } from './services.ts';
import { parseSockdConf } from './sockd-conf.ts';
import { parseSockdRoute } from './sockd-route.ts';
import { parseSocksConf } from './socks-conf.ts';

export interface ConfigPaths {
  /** Text file, e.g. /etc/sockd.conf. */
  readonly text?: string;
  /** Frozen file, e.g. /etc/sockd.fc; takes precedence when it exists. */
  readonly frozen?: string;
}

export interface LoadOptions {
  /** Service names for port fields of text files (default: built-in Debian table). */
  readonly services?: ServiceTable;
}

type ConfigOf<K extends AnyConfig['kind']> = Extract<AnyConfig, { kind: K }>;

export type LoadResult<C extends AnyConfig = AnyConfig> =
  | {
      readonly config: C;
      /** Which file the config came from. */
      readonly from: { readonly path: string; readonly frozen: boolean };
      readonly warnings: readonly string[];
    }
  | { readonly missing: true; readonly warnings: readonly string[] }
  | {
      /** Classic messages, one per problem, ready to print or log. */
      readonly errors: readonly string[];
      readonly problems: readonly ConfigError[];
      readonly warnings: readonly string[];
    };

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function mtimeMs(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function parseText<K extends AnyConfig['kind']>(
  kind: K,
  text: string,
  file: string,
  options: LoadOptions,
): ConfigOf<K> {
  const parseOptions = options.services === undefined ? { file } : { file, services: options.services };
  const parsers: { [P in AnyConfig['kind']]: () => ConfigOf<P> } = {
    'sockd.conf': (): ServerConfig => parseSockdConf(text, parseOptions),
    'socks.conf': (): ClientConfig => parseSocksConf(text, parseOptions),
    'sockd.route': (): RouteConfig => parseSockdRoute(text, { file }),
  };
  return parsers[kind]() as ConfigOf<K>;
}

function failed(problems: readonly ConfigError[], warnings: readonly string[]) {
  return { errors: problems.map((p) => p.classic), problems, warnings };
}

/** Loads one configuration of `kind` by the precedence rules of f.3. Never throws for file problems. */
export function loadConfigFile<K extends AnyConfig['kind']>(
  kind: K,
  paths: ConfigPaths,
  options: LoadOptions = {},
): LoadResult<ConfigOf<K>> {
  const warnings: string[] = [];
  if (paths.frozen !== undefined) {
    let bytes: Buffer | undefined;
    try {
      bytes = readFileSync(paths.frozen);
    } catch (err) {
      if (!isMissing(err)) {
        return failed([frozenError(paths.frozen, 'E_FROZEN_CORRUPT', reasonOf(err), err)], warnings);
      }
    }
    if (bytes !== undefined) {
      if (paths.text !== undefined) {
        const textTime = mtimeMs(paths.text);
        const frozenTime = mtimeMs(paths.frozen);
        if (textTime !== undefined && frozenTime !== undefined && textTime > frozenTime) {
          warnings.push(`frozen file ${paths.frozen} is older than ${paths.text}`);
        }
      }
      try {
        const config = thaw(bytes, { file: paths.frozen, kind }) as ConfigOf<K>;
        return { config, from: { path: paths.frozen, frozen: true }, warnings };
      } catch (err) {
        if (err instanceof ConfigError) return failed([err], warnings);
        throw err;
      }
    }
  }
  if (paths.text === undefined) return { missing: true, warnings };
  let text: string;
  try {
    text = readFileSync(paths.text, 'utf8');
  } catch (err) {
    if (isMissing(err)) return { missing: true, warnings };
    return failed([unreadableError(kind, paths.text, reasonOf(err), err)], warnings);
  }
  try {
    return {
      config: parseText(kind, text, paths.text, options),
      from: { path: paths.text, frozen: false },
      warnings,
    };
  } catch (err) {
    if (err instanceof ConfigFileError) return failed(err.errors, warnings);
    throw err;
  }
}
