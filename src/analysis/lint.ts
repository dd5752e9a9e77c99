import { dottedOf as dotted } from '../common/inet-address.ts';
import type { ClientConfig, ClientRule, IdentdMode, ServerConfig, ServerRule } from '../config/ast.ts';
import { inetAton } from '../config/inet.ts';
import { type HostIdentity, hostMatches } from '../policy/host.ts';
import { type HostTable, hostTable } from '../topology/host-table.ts';
import type { HostModel, ResolvedTopology } from '../topology/model.ts';
import type { ParsedHostConfigs } from '../topology/resolve.ts';
import { addrCovers, portCovers, usersCover } from './cover.ts';

/**
 * Lints of a topology's configs, beyond what the parsers reject: things that are valid but
 * almost certainly not what the administrator meant. Each finding cites host, file and line.
 */
export const LintCode = {
  Shadowed: 'shadowed-rule', // a line that can never match: an earlier line covers it
  UpstreamNotServer: 'upstream-not-server', // a socks.conf server entry that runs no SOCKS server
  UpstreamUnknown: 'upstream-unknown', // a socks.conf server entry that is no host of the topology
  UpstreamUnreachable: 'upstream-unreachable', // the server shares no network with the host that uses it
  FirstHopNoIdentd: 'first-hop-no-identd', // a first-hop server permits clients without identd
  ChainedIdentd: 'identd-behind-rsockd', // g.7: identd checks on requests from an rsockd: always 93
} as const;
export type LintCode = (typeof LintCode)[keyof typeof LintCode];

export interface LintFinding {
  readonly severity: 'error' | 'warning';
  readonly code: LintCode;
  readonly host: string;
  readonly file: string;
  readonly line: number | null;
  readonly message: string;
}

function identityOf(host: HostModel, address: string): HostIdentity {
  return { addresses: [inetAton(address)!], names: [host.name], display: host.name, dotted: address };
}

/** Lines an earlier line of the same file covers entirely (sockd.conf, socks.conf, sockd.route alike). */
function shadowed<R extends { readonly line: number; readonly source: string }>(
  host: string,
  file: string,
  rules: readonly R[],
  covers: (outer: R, inner: R) => boolean,
): LintFinding[] {
  const out: LintFinding[] = [];
  rules.forEach((rule, j) => {
    const by = rules.slice(0, j).find((earlier) => covers(earlier, rule));
    if (by) {
      out.push({
        severity: 'warning',
        code: LintCode.Shadowed,
        host,
        file,
        line: rule.line,
        message: `line ${rule.line} can never match: line ${by.line} (\`${by.source.trim()}\`) already matches everything it would`,
      });
    }
  });
  return out;
}

const serverCovers = (o: ServerRule, i: ServerRule) =>
  addrCovers(o.src, i.src) &&
  addrCovers(o.dst, i.dst) &&
  usersCover(o.users, i.users) &&
  portCovers(o.port, i.port);
const clientCovers = (o: ClientRule, i: ClientRule) =>
  addrCovers(o.dst, i.dst) && usersCover(o.users, i.users) && portCovers(o.port, i.port);

/** A socks.conf server entry (any inet_aton form, or a host name) as a host of the topology. */
function entryHost(table: HostTable, entry: string): { host?: HostModel; address?: string } {
  const n = inetAton(entry);
  const address = n !== undefined ? dotted(n) : undefined;
  const host = table.lookup(address ?? entry);
  return { ...(host ? { host } : {}), ...(address ? { address } : {}) };
}

function sharesNetwork(a: HostModel, b: HostModel, address?: string): boolean {
  const nets = address
    ? b.interfaces.filter((i) => i.address === address).map((i) => i.network)
    : b.interfaces.map((i) => i.network);
  return a.interfaces.some((i) => nets.includes(i.network));
}

/** A server and the socks.conf lines of one host that send requests to it. */
type UpstreamUses = Map<string, { user: HostModel; rule: ClientRule; file: string }[]>;

/**
 * Each host's files on their own (shadowed lines, socks.conf server entries), then what the
 * servers those entries reach make of the requests that come from them (identd, g.7).
 */
export function lintTopology(
  topology: ResolvedTopology,
  configs: ReadonlyMap<string, ParsedHostConfigs>,
): LintFinding[] {
  const table = hostTable(topology);
  const upstreamsOf: UpstreamUses = new Map();
  const findings: LintFinding[] = [];
  for (const host of topology.hosts)
    findings.push(...lintHostFiles(table, host, configs.get(host.name), upstreamsOf));
  findings.push(...lintIdentdUse(topology, configs, upstreamsOf));
  return dedupe(findings);
}

/** One host's files: shadowed lines in each, and the server entries of the socks.conf it routes by. */
function lintHostFiles(
  table: HostTable,
  host: HostModel,
  c: ParsedHostConfigs | undefined,
  upstreamsOf: UpstreamUses,
): LintFinding[] {
  const findings: LintFinding[] = [];
  if (c?.server) findings.push(...shadowed(host.name, c.server.file, c.server.rules, serverCovers));
  if (c?.client && host.server?.kind === 'rsockd')
    findings.push(...lintClientConfig(table, host, c.client, upstreamsOf));
  if (c?.probeClient) findings.push(...lintClientConfig(table, host, c.probeClient, upstreamsOf));
  if (c?.route)
    findings.push(...shadowed(host.name, c.route.file, c.route.routes, (o, i) => addrCovers(o.dst, i.dst)));
  return findings;
}

/** A socks.conf: shadowed lines, and every server entry of its sockd lines (the default server when none). */
function lintClientConfig(
  table: HostTable,
  host: HostModel,
  config: ClientConfig,
  upstreamsOf: UpstreamUses,
): LintFinding[] {
  const findings = shadowed(host.name, config.file, config.rules, clientCovers);
  for (const rule of config.rules) {
    if (rule.action !== 'sockd') continue;
    const entries = rule.servers?.entries.length
      ? rule.servers.entries
      : host.server?.defaultServer
        ? [host.server.defaultServer]
        : [];
    for (const entry of entries) {
      const checked = checkUpstream(table, host, entry, {
        host: host.name,
        file: config.file,
        line: rule.line,
      });
      if ('finding' in checked) {
        findings.push(checked.finding);
        continue;
      }
      const list = upstreamsOf.get(checked.target.name) ?? [];
      list.push({ user: host, rule, file: config.file });
      upstreamsOf.set(checked.target.name, list);
    }
  }
  return findings;
}

/** A server entry must be a topology host that runs a SOCKS server on a network the host shares. */
function checkUpstream(
  table: HostTable,
  host: HostModel,
  entry: string,
  at: { readonly host: string; readonly file: string; readonly line: number },
): { readonly target: HostModel } | { readonly finding: LintFinding } {
  const { host: target, address } = entryHost(table, entry);
  if (!target)
    return {
      finding: {
        severity: 'error',
        code: LintCode.UpstreamUnknown,
        ...at,
        message: `server ${entry} is no host of the topology`,
      },
    };
  if (!target.server)
    return {
      finding: {
        severity: 'error',
        code: LintCode.UpstreamNotServer,
        ...at,
        message: `server ${entry} (${target.name}) runs no SOCKS server (role ${target.role})`,
      },
    };
  if (!sharesNetwork(host, target, address))
    return {
      finding: {
        severity: 'error',
        code: LintCode.UpstreamUnreachable,
        ...at,
        message: `server ${entry} (${target.name}) shares no network with ${host.name}: every connection to it fails`,
      },
    };
  return { target };
}

/** Requests reaching a server: from clients (first hop) and from rsockd hosts (chained). */
function lintIdentdUse(
  topology: ResolvedTopology,
  configs: ReadonlyMap<string, ParsedHostConfigs>,
  upstreamsOf: UpstreamUses,
): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const [serverName, users] of upstreamsOf) {
    const server = topology.hosts.find((h) => h.name === serverName)!;
    const config = configs.get(serverName)?.server;
    if (!config) continue;
    const seen = new Set<string>();
    for (const { user } of users) {
      if (seen.has(user.name)) continue;
      seen.add(user.name);
      const facing = user.interfaces.filter((i) => server.interfaces.some((s) => s.network === i.network));
      for (const iface of facing) {
        const src = identityOf(user, iface.address);
        if (user.server?.kind === 'rsockd') {
          lintChained(findings, server, config, user, src);
        } else if (user.role === 'client') {
          lintFirstHop(findings, server, config, user, src);
        }
      }
    }
  }
  return findings;
}

/** The permit lines that match requests from `src`, with the identd mode each applies. */
function permitsFrom(
  server: HostModel,
  config: ServerConfig,
  src: HostIdentity,
): { readonly rule: ServerRule; readonly mode: IdentdMode }[] {
  return config.rules
    .filter((rule) => rule.action === 'permit' && hostMatches(src, rule.src))
    .map((rule) => ({ rule, mode: rule.identd?.mode ?? server.server!.identdDefault }));
}

/** g.7: identd on an rsockd host answers the rsockd's owner, never the user the request names. */
function lintChained(
  findings: LintFinding[],
  server: HostModel,
  config: ServerConfig,
  rsockd: HostModel,
  src: HostIdentity,
) {
  for (const { rule, mode } of permitsFrom(server, config, src)) {
    if (mode === 'off') continue;
    const owner = rsockd.server!.owner;
    findings.push({
      severity: 'warning',
      code: LintCode.ChainedIdentd,
      host: server.name,
      file: config.file,
      line: rule.line,
      message: `line ${rule.line} asks identd (${mode}) about requests from rsockd ${rsockd.name}: identd there answers ${owner}, so every chained request is refused with 93 unless the user is ${owner} (spec g.7); use ?=n and let ${rsockd.name} verify`,
    });
  }
}

/** Only the first hop can verify the user (g.7): a permit without identd there trusts any claim. */
function lintFirstHop(
  findings: LintFinding[],
  server: HostModel,
  config: ServerConfig,
  client: HostModel,
  src: HostIdentity,
) {
  for (const { rule, mode } of permitsFrom(server, config, src)) {
    if (mode !== 'off') continue;
    findings.push({
      severity: 'warning',
      code: LintCode.FirstHopNoIdentd,
      host: server.name,
      file: config.file,
      line: rule.line,
      message: `line ${rule.line} permits requests from client ${client.name} without identd: ${server.name} is the only hop that could verify the user (spec g.7)`,
    });
  }
}

function dedupe(findings: LintFinding[]): LintFinding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.code}|${f.host}|${f.file}|${f.line}|${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
