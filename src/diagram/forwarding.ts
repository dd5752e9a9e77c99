/**
 * Forwarding edges: which upstream SOCKS servers each host's socks.conf sends requests to.
 * Read from the topology's parsed configs alone (no runtime): every `sockd` line contributes one
 * route per server in its `@=` list, numbered in fail-over order, or one route to the default
 * server when it names none (d.5, d.6). Upstream names and addresses are mapped to topology
 * hosts through their interfaces; what cannot be mapped stays an external name.
 */
import { dottedOf as dotted } from '../common/inet-address.ts';
import type {
  AddrSpec,
  ClientConfig,
  ClientRule,
  HostModel,
  ParsedConfigText,
  ResolvedTopology,
} from '../topology/model.ts';
import { HostIndex, sortedHosts } from './topology-facts.ts';

/** Where a forwarding edge ends: a topology host, or a server the topology does not contain. */
export type Upstream =
  | { readonly kind: 'host'; readonly host: string }
  | { readonly kind: 'external'; readonly name: string };

export interface ForwardingRoute {
  /** The socks.conf the line is in (its report name) and the line number. */
  readonly file: string;
  readonly line: number;
  /** 1-based place of this server in the line's `@=` list; 1 for the default server. */
  readonly position: number;
  /** Length of the list (1 for the default server). */
  readonly of: number;
  /** The line named no server, so the default server (d.6) is used. */
  readonly viaDefault: boolean;
  /** The line's destination, ports and users, short: `.partner.example.net`, `ALL port eq 80`. */
  readonly matches: string;
}

export interface ForwardingEdge {
  readonly from: string;
  readonly to: Upstream;
  /** Routes in file order. */
  readonly routes: readonly ForwardingRoute[];
}

export interface ForwardingWarning {
  readonly host: string;
  readonly message: string;
}

export interface Forwarding {
  readonly edges: readonly ForwardingEdge[];
  readonly warnings: readonly ForwardingWarning[];
  /**
   * Per host, its `direct` and `deny` lines in file order (`direct .example.com (socks.conf:5)`):
   * no edge to draw, but a reviewer wants to see what bypasses or stops at the host.
   */
  readonly local: ReadonlyMap<string, readonly string[]>;
}

/** The socks.conf a host routes by: the server's for an rsockd, the probe's for a client. */
export function routingConf(host: HostModel): ParsedConfigText<ClientConfig> | undefined {
  if (host.server !== undefined) return host.server.kind === 'rsockd' ? host.server.socksConf : undefined;
  return host.clientSocksConf;
}

function maskBits(mask: number): number | undefined {
  const inverted = ~mask >>> 0;
  // contiguous masks are ones then zeros: the inverse plus one is a power of two
  if ((inverted & (inverted + 1)) !== 0) return undefined;
  return 32 - Math.log2(inverted + 1);
}

/** A destination pattern as a reviewer would write it: `10.0.0.0/8`, `.example.com`, `any destination`. */
export function describeDestination(dst: AddrSpec, defaulted = false): string {
  const pattern = dst.pattern;
  if (defaulted || pattern.kind === 'all') return 'any destination';
  if (pattern.kind === 'zone') return `.${pattern.zone}`;
  if (pattern.kind === 'name') return pattern.name;
  if (dst.mask === 0 && pattern.addr === 0) return 'any destination';
  const bits = maskBits(dst.mask);
  return bits === undefined
    ? `${dotted(pattern.addr)} mask ${dotted(dst.mask)}`
    : `${dotted(pattern.addr)}/${bits}`;
}

/** A rule's destination, port and user tests, short. */
export function describeMatch(rule: ClientRule): string {
  const port = rule.port === undefined ? '' : ` port ${rule.port.op} ${rule.port.text}`;
  const users = rule.users === undefined ? '' : ` ${rule.users.text}`;
  return `${describeDestination(rule.dst, rule.dstDefaulted)}${port}${users}`;
}

function upstreamKey(upstream: Upstream): string {
  return upstream.kind === 'host' ? `h ${upstream.host}` : `x ${upstream.name}`;
}

/** The parsed socks.conf, or the warning to draw when the topology kept it invalid. */
function parsed(conf: ParsedConfigText<ClientConfig>): ClientConfig | { readonly error: string } {
  if (conf.parsed.ok) return conf.parsed.config;
  const err = conf.parsed.error;
  const first = err.errors[0];
  const where = first === undefined ? conf.name : `${conf.name}:${first.line}`;
  const more = err.errors.length > 1 ? ` (+${err.errors.length - 1} more)` : '';
  return { error: `${where} is invalid${more}: ${first?.classic ?? err.message}; no forwarding drawn` };
}

/** Forwarding edges of every host, sorted by source host then upstream; warnings likewise. */
export function forwarding(topology: ResolvedTopology): Forwarding {
  const index = new HostIndex(topology);
  const edges: ForwardingEdge[] = [];
  const warnings: ForwardingWarning[] = [];
  const local = new Map<string, string[]>();
  const resolve = (name: string): Upstream => {
    const host = index.find(name);
    return host === undefined ? { kind: 'external', name } : { kind: 'host', host: host.name };
  };

  for (const host of sortedHosts(topology)) {
    const conf = routingConf(host);
    if (conf === undefined) continue;
    const config = parsed(conf);
    if ('error' in config) {
      warnings.push({ host: host.name, message: config.error });
      continue;
    }
    const byUpstream = new Map<string, { to: Upstream; routes: ForwardingRoute[] }>();
    const add = (to: Upstream, route: ForwardingRoute) => {
      const key = upstreamKey(to);
      const entry = byUpstream.get(key) ?? { to, routes: [] };
      entry.routes.push(route);
      byUpstream.set(key, entry);
    };
    for (const rule of config.rules) {
      const matches = describeMatch(rule);
      if (rule.action !== 'sockd') {
        const lines = local.get(host.name) ?? [];
        lines.push(`${rule.action} ${matches} (${conf.name}:${rule.line})`);
        local.set(host.name, lines);
        continue;
      }
      const entries = rule.servers?.entries ?? [];
      if (entries.length === 0) {
        const fallback = host.server?.defaultServer;
        if (fallback === undefined) {
          warnings.push({
            host: host.name,
            message: `${conf.name}:${rule.line} names no server and ${host.name} has no default server: refused with 91`,
          });
          continue;
        }
        add(resolve(fallback), {
          file: conf.name,
          line: rule.line,
          position: 1,
          of: 1,
          viaDefault: true,
          matches,
        });
        continue;
      }
      entries.forEach((entry, i) => {
        add(resolve(entry), {
          file: conf.name,
          line: rule.line,
          position: i + 1,
          of: entries.length,
          viaDefault: false,
          matches,
        });
      });
    }
    const sorted = [...byUpstream.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [, { to, routes }] of sorted) edges.push({ from: host.name, to, routes });
  }
  return { edges, warnings, local };
}

/** `socks.conf:4 #2/3 for .partner.example.net`, `socks.conf:8 default server for any destination port eq http`. */
export function describeRoute(route: ForwardingRoute): string {
  const order = route.viaDefault ? 'default server' : route.of > 1 ? `#${route.position}/${route.of}` : '';
  return [`${route.file}:${route.line}`, order, `for ${route.matches}`].filter((s) => s !== '').join(' ');
}
