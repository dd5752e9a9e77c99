import type { AnyConfig, ClientConfig, RouteConfig, ServerConfig } from '../../config/ast.ts';
import { parseRuleText } from '../../server/load-rules.ts';
import type { ServerRules, UnusableConfig } from '../../server/options.ts';
import type { ParsedConfigText, ServerModel } from '../../topology/model.ts';

/**
 * A host's configs → the engine's ServerRules. At start they come parsed with the topology; a
 * replaced text is parsed by the server's own rule-file parser, as a reload reads the file. A
 * config that does not parse becomes an UnusableConfig carrying the classic messages, as rsockd does.
 */
export type ConfigName = 'sockd.conf' | 'socks.conf' | 'sockd.route';

function parsedOr<T extends AnyConfig>(text: ParsedConfigText<T> | undefined): T | UnusableConfig | null {
  if (!text) return null;
  return text.parsed.ok ? text.parsed.config : { unusable: text.parsed.error.classicMessages };
}

export function serverRules(server: ServerModel): ServerRules {
  return {
    server: parsedOr<ServerConfig>(server.sockdConf) ?? { unusable: ['no sockd.conf'] },
    client: server.kind === 'rsockd' ? parsedOr<ClientConfig>(server.socksConf) : null,
    route: parsedOr<RouteConfig>(server.sockdRoute),
  };
}

/** The rules after replacing one file's text; the old rules stay when the new text is bad. */
export function replaceRule(
  rules: ServerRules,
  name: ConfigName,
  text: string,
): { ok: true; rules: ServerRules } | { ok: false; error: string } {
  const r = parseRuleText(name, text, name);
  if (!r.ok) return { ok: false, error: r.error.message };
  const key = name === 'sockd.conf' ? 'server' : name === 'socks.conf' ? 'client' : 'route';
  return { ok: true, rules: { ...rules, [key]: r.config } };
}
