import type { ClientConfig, RouteConfig, ServerConfig } from '../config/ast.ts';
import { ConfigFileError } from '../config/config-error.ts';
import { parseSockdConf } from '../config/sockd-conf.ts';
import { parseSockdRoute } from '../config/sockd-route.ts';
import { parseSocksConf } from '../config/socks-conf.ts';
import type { ConfigParse, ConfigText, ParsedConfigText } from './model.ts';

/** Config parsers (default: the config module's); injectable so the topology can be tested alone. */
export interface ConfigParsers {
  readonly 'sockd.conf': (text: string, file: string) => ServerConfig;
  readonly 'socks.conf': (text: string, file: string) => ClientConfig;
  readonly 'sockd.route': (text: string, file: string) => RouteConfig;
}

/**
 * The config module's parsers, as the topology and scenario loaders use them: the one place
 * above config/ where config text becomes config objects (the boundary; see design.md).
 */
export const configParsers: ConfigParsers = {
  'sockd.conf': (text, file) => parseSockdConf(text, { file }),
  'socks.conf': (text, file) => parseSocksConf(text, { file }),
  'sockd.route': (text, file) => parseSockdRoute(text, { file }),
};

export type ConfigName = keyof ConfigParsers;

/** The config each file name parses to. */
export interface ConfigOfName {
  readonly 'sockd.conf': ServerConfig;
  readonly 'socks.conf': ClientConfig;
  readonly 'sockd.route': RouteConfig;
}

/**
 * Parses a text, keeping a rejected file's error instead of throwing (a broken config is drawn as
 * a note, and a replacement text may be bad on purpose). Anything but a ConfigFileError is a bug
 * in the parser and is thrown.
 */
export function parseConfig<K extends ConfigName>(
  kind: K,
  text: string,
  file: string,
  parsers: ConfigParsers = configParsers,
): ConfigParse<ConfigOfName[K]> {
  try {
    return { ok: true, config: parsers[kind](text, file) as ConfigOfName[K] };
  } catch (err) {
    if (err instanceof ConfigFileError) return { ok: false, error: err };
    throw err;
  }
}

/** A config text with its parse result (the file is named by the text's `name`, as in decisions). */
export function parseConfigText<K extends ConfigName>(
  kind: K,
  text: ConfigText,
  parsers: ConfigParsers = configParsers,
): ParsedConfigText<ConfigOfName[K]> {
  return { ...text, parsed: parseConfig(kind, text.text, text.name, parsers) };
}
