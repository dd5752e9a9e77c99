/**
 * sockd.route parser (spec e): `if_addr dst_addr [dst_mask]` per line, `#` comments, no shell
 * command. Whether if_addr belongs to a local interface is a separate, pure check.
 */
import { dottedOf as dotted } from '../common/inet-address.ts';
import type { RouteConfig, RouteRule } from './ast.ts';
import { ConfigError, LineProblem } from './config-error.ts';
import { readAddrPair, rejectLeftover } from './fields.ts';
import { inetAton } from './inet.ts';
import { parseLines, type RuleLine } from './parse-driver.ts';

/** Longest sockd.route line, terminator excluded (e: the manual allows 1024). */
export const SOCKD_ROUTE_MAX_LINE = 1024;

function parseRoute(lexed: RuleLine, file: string): RouteRule {
  const { fields, line, endColumn } = lexed;
  if (lexed.command !== undefined) {
    throw new LineProblem(
      'E_CONF_ENTRY',
      lexed.commandColumn ?? endColumn,
      'route lines take no shell command',
      'if_addr dst_addr dst_mask',
    );
  }
  const ifaceField = fields[0];
  const iface = ifaceField === undefined ? undefined : inetAton(ifaceField.text);
  if (ifaceField === undefined || iface === undefined) {
    throw new LineProblem(
      'E_CONF_IFACE',
      ifaceField?.column ?? 1,
      `interface address "${ifaceField?.text ?? ''}" is not numeric`,
      'a numeric interface address',
    );
  }
  const dst = readAddrPair(fields, 1, endColumn, {
    file,
    line,
    maskCode: 'E_CONF_DST_MASK',
    role: 'destination',
  });
  rejectLeftover(fields, dst.next);
  return { file, line, source: lexed.source, iface, ifaceText: ifaceField.text, dst: dst.spec };
}

/** Parses sockd.route text; throws ConfigFileError carrying every invalid line. */
export function parseSockdRoute(text: string, options: { readonly file: string }): RouteConfig {
  const { file } = options;
  const routes = parseLines(text, {
    kind: 'sockd.route',
    file,
    maxLength: SOCKD_ROUTE_MAX_LINE,
    specials: false,
    parseLine: (lexed) => parseRoute(lexed, file),
  });
  return { kind: 'sockd.route', file, routes };
}

/**
 * Routes whose interface address is not local, as errors with the message `Interface address X at
 * line N is not local` (e). Pure: the caller says what is local, as a list of dotted IPv4
 * addresses or as a test (a host's loopback network is local as a whole, not only 127.0.0.1).
 */
export function checkLocalInterfaces(
  config: RouteConfig,
  localAddrs: readonly string[],
  isLocal?: (addr: number) => boolean,
): ConfigError[] {
  const local = new Set(localAddrs.map((a) => inetAton(a)).filter((a) => a !== undefined));
  return config.routes
    .filter((route) => !local.has(route.iface) && !(isLocal?.(route.iface) ?? false))
    .map(
      (route) =>
        new ConfigError({
          code: 'E_CONF_IFACE',
          file: route.file,
          line: route.line,
          column: route.source.indexOf(route.ifaceText) + 1,
          source: route.source,
          classic: `Interface address ${dotted(route.iface)} at line ${route.line} is not local`,
          what: `interface address ${dotted(route.iface)} is not an address of this host`,
          expected: `one of ${localAddrs.join(', ') || '(no local addresses)'}`,
        }),
    );
}
