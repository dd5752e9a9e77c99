import type { ClientConfig, RouteConfig, ServerConfig } from '../../config/ast.ts';
import { ConfigFileError } from '../../config/config-error.ts';
import type { ServerRules, UnusableConfig } from '../../server/options.ts';
import { configParsers } from '../../topology/config-parsers.ts';
import type { ConfigText, ServerModel } from '../../topology/model.ts';

/**
 * A host's config texts → the engine's ServerRules (parsed once per start and per reload). A text
 * that does not parse becomes an UnusableConfig carrying the classic messages, as rsockd does.
 */
export type ConfigName = 'sockd.conf' | 'socks.conf' | 'sockd.route';

export function parseConfigText(
  name: ConfigName,
  text: string,
):
  | { ok: true; config: ServerConfig | ClientConfig | RouteConfig }
  | { ok: false; error: string; unusable: UnusableConfig } {
  try {
    return { ok: true, config: configParsers[name](text, name) };
  } catch (err) {
    const unusable = err instanceof ConfigFileError ? err.classicMessages : [(err as Error).message];
    return { ok: false, error: (err as Error).message, unusable: { unusable } };
  }
}

function parsedOr<T>(name: ConfigName, text: ConfigText | undefined): T | UnusableConfig | null {
  if (!text) return null;
  const r = parseConfigText(name, text.text);
  return r.ok ? (r.config as T) : r.unusable;
}

export function serverRules(server: ServerModel): ServerRules {
  return {
    server: parsedOr<ServerConfig>('sockd.conf', server.sockdConf) ?? { unusable: ['no sockd.conf'] },
    client: server.kind === 'rsockd' ? parsedOr<ClientConfig>('socks.conf', server.socksConf) : null,
    route: parsedOr<RouteConfig>('sockd.route', server.sockdRoute),
  };
}

/** The rules after replacing one file's text; the old rules stay when the new text is bad. */
export function replaceRule(
  rules: ServerRules,
  name: ConfigName,
  text: string,
): { ok: true; rules: ServerRules } | { ok: false; error: string } {
  const r = parseConfigText(name, text);
  if (!r.ok) return { ok: false, error: r.error };
  const key = name === 'sockd.conf' ? 'server' : name === 'socks.conf' ? 'client' : 'route';
  return { ok: true, rules: { ...rules, [key]: r.config } };
}
