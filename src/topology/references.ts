import { dottedOf } from '../common/inet-address.ts';
import type { ClientConfig } from '../config/ast.ts';
import { configPosition } from './config-texts.ts';
import { TopologyErrorCode as Codes, type YamlPath } from './errors.ts';
import { type HostTable, hostTable } from './host-table.ts';
import { type HostModel, type ParsedConfigText, parsedConfig, type ResolvedTopology } from './model.ts';
import { addIssue, hostFieldPath, type ResolveContext } from './resolve-context.ts';

/**
 * What the parsed configs say about the rest of the topology, checked once every host is
 * resolved: socks.conf server lists and default servers name hosts that run a server, and
 * sockd.route interface addresses are the host's own. A load that keeps invalid configs
 * (drawing) checks no config's contents: `check` validates.
 */
export function checkReferences(ctx: ResolveContext, topology: ResolvedTopology): void {
  const table = hostTable(topology);
  const checkConfigs = ctx.invalidConfigs === 'fail';
  for (const host of topology.hosts) {
    const serverPath = hostFieldPath(ctx, host.name, host.role, 'server');
    if (checkConfigs) {
      checkUpstreamLists(ctx, table, host.server?.socksConf, [...serverPath, 'socks.conf']);
      checkUpstreamLists(
        ctx,
        table,
        host.clientSocksConf,
        hostFieldPath(ctx, host.name, host.role, 'socks.conf'),
      );
    }
    checkDefaultServer(ctx, table, host, serverPath);
    if (checkConfigs) checkRouteInterfaces(ctx, host, serverPath);
  }
}

/** Why a server-list entry names no SOCKS server of this topology, or null when it does. */
function upstreamProblem(table: HostTable, entry: string): string | null {
  const host = table.lookup(entry);
  if (!host) return `\`${entry}\` is not a host or address of this topology`;
  if (!host.server)
    return `\`${entry}\` is host ${host.name} (role ${host.role}), which runs no SOCKS server`;
  return null;
}

/** Every `@=` server list entry of a socks.conf names a host running a server. */
function checkUpstreamLists(
  ctx: ResolveContext,
  table: HostTable,
  text: ParsedConfigText<ClientConfig> | undefined,
  p: YamlPath,
): void {
  const config = parsedConfig(text);
  if (!config || !text) return;
  for (const rule of config.rules) {
    for (const entry of rule.servers?.entries ?? []) {
      const problem = upstreamProblem(table, entry);
      if (!problem) continue;
      const pos = configPosition(text, rule.line, rule.servers?.pos.column ?? 1);
      const at = text.origin.inline ? { line: pos.line, column: pos.column } : null;
      addIssue(ctx, Codes.Upstream, p, `socks.conf line ${rule.line}: upstream ${problem}`, at);
    }
  }
}

/** The server's `default-server` names a host running a server. */
function checkDefaultServer(
  ctx: ResolveContext,
  table: HostTable,
  host: HostModel,
  serverPath: YamlPath,
): void {
  const def = host.server?.defaultServer;
  if (def === undefined) return;
  const problem = upstreamProblem(table, def);
  if (problem) addIssue(ctx, Codes.Upstream, [...serverPath, 'default-server'], `default server ${problem}`);
}

/** Every interface address of the server's sockd.route is an address of the host itself. */
function checkRouteInterfaces(ctx: ResolveContext, host: HostModel, serverPath: YamlPath): void {
  const text = host.server?.sockdRoute;
  const route = parsedConfig(text);
  if (!route || !text) return;
  const own = new Set(host.interfaces.map((i) => i.address));
  for (const r of route.routes) {
    const iface = dottedOf(r.iface >>> 0);
    if (own.has(iface)) continue;
    const pos = configPosition(text, r.line, 1);
    addIssue(
      ctx,
      Codes.Config,
      [...serverPath, 'sockd.route'],
      `sockd.route line ${r.line}: interface address ${iface} is not an address of ${host.name} (${[...own].join(', ')})`,
      text.origin.inline ? { line: pos.line, column: pos.column } : null,
    );
  }
}
