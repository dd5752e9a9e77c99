/**
 * What a diagram needs to know about a topology beyond the model itself: where each host is
 * drawn, what it listens on, and which host a name or address in a config or trace stands for.
 * Everything comes out sorted, so the writers built on this are deterministic.
 */
import type { HostModel, IdentdBehaviour, NetworkModel, ResolvedTopology } from '../topology/model.ts';

/**
 * Natural order (`ws2` before `ws10`) that does not depend on the locale: runs of digits compare
 * by value, everything else by code unit, and equal-looking names fall back to plain order.
 */
export function naturalCompare(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    if (/^\d/.test(x) && /^\d/.test(y)) {
      const difference = BigInt(x) - BigInt(y);
      if (difference !== 0n) return difference < 0n ? -1 : 1;
    }
    return x < y ? -1 : 1;
  }
  if (pa.length !== pb.length) return pa.length - pb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

const byName = <T extends { readonly name: string }>(a: T, b: T): number => naturalCompare(a.name, b.name);

export function sortedHosts(topology: ResolvedTopology): HostModel[] {
  return [...topology.hosts].sort(byName);
}

export interface NetworkPlacement {
  readonly network: NetworkModel;
  /** Hosts with exactly one interface, on this network: drawn inside its cluster. */
  readonly members: readonly { readonly host: HostModel; readonly address: string }[];
}

export interface Placement {
  readonly networks: readonly NetworkPlacement[];
  /**
   * How far each network is from where requests start (networks with clients are 0; each
   * multi-homed host steps one further). Used to lay networks out left to right in the
   * direction requests travel; unreachable networks get the largest depth plus one.
   */
  readonly depth: ReadonlyMap<string, number>;
  /** Hosts on several networks (or none): drawn once, outside, with an edge into each network. */
  readonly between: readonly HostModel[];
}

/**
 * Single-homed hosts go inside their network; the others between networks. A network an
 * interface names but the topology does not list still gets a cluster (subnet unknown), so a
 * half-written topology draws instead of failing.
 */
export function placement(topology: ResolvedTopology): Placement {
  const networks = new Map<string, NetworkModel>();
  for (const network of topology.networks) networks.set(network.name, network);
  for (const host of topology.hosts)
    for (const iface of host.interfaces)
      if (!networks.has(iface.network)) networks.set(iface.network, { name: iface.network, subnet: '?' });

  const members = new Map<string, { host: HostModel; address: string }[]>();
  const between: HostModel[] = [];
  for (const host of sortedHosts(topology)) {
    const only = host.interfaces.length === 1 ? host.interfaces[0] : undefined;
    if (only === undefined) {
      between.push(host);
      continue;
    }
    const list = members.get(only.network) ?? [];
    list.push({ host, address: only.address });
    members.set(only.network, list);
  }
  return {
    networks: [...networks.values()].sort(byName).map((network) => ({
      network,
      members: members.get(network.name) ?? [],
    })),
    between,
    depth: networkDepth([...networks.keys()].sort(), topology),
  };
}

/** Breadth-first over networks joined by multi-homed hosts, from the networks clients are on. */
function networkDepth(names: readonly string[], topology: ResolvedTopology): Map<string, number> {
  const depth = new Map<string, number>();
  let frontier = names.filter((n) =>
    topology.hosts.some((h) => h.role === 'client' && h.interfaces.some((i) => i.network === n)),
  );
  if (frontier.length === 0 && names[0] !== undefined) frontier = [names[0]];
  let level = 0;
  while (frontier.length > 0) {
    for (const n of frontier) depth.set(n, level);
    const next = new Set<string>();
    for (const host of topology.hosts) {
      const nets = host.interfaces.map((i) => i.network);
      if (!nets.some((n) => frontier.includes(n))) continue;
      for (const n of nets) if (!depth.has(n)) next.add(n);
    }
    frontier = [...next].sort();
    level++;
    // Islands not joined to the start: place them after everything reached so far.
    if (frontier.length === 0) {
      const rest = names.find((n) => !depth.has(n));
      if (rest !== undefined) frontier = [rest];
    }
  }
  return depth;
}

/** Interfaces of a host in a stable order (by network name, then address). */
export function sortedInterfaces(host: HostModel): HostModel['interfaces'][number][] {
  return [...host.interfaces].sort((a, b) =>
    a.network === b.network ? (a.address < b.address ? -1 : 1) : a.network < b.network ? -1 : 1,
  );
}

function identdText(behaviour: IdentdBehaviour): string {
  switch (behaviour.kind) {
    case 'truthful':
      return '';
    case 'lying':
      return ` (lies: ${behaviour.user})`;
    case 'error':
      return ` (answers ${behaviour.error})`;
    default:
      return ` (${behaviour.kind})`;
  }
}

/** One short line per service the host runs: `rsockd :1080 as nobody`, `identd :113 (down)`. */
export function serviceLines(host: HostModel): string[] {
  const lines: string[] = [];
  const server = host.server;
  if (server !== undefined) {
    const extras = [
      `as ${server.owner}`,
      server.identdDefault === 'off' ? undefined : `identd ${server.identdDefault}`,
      server.socks5 ? 'socks5' : undefined,
      server.multihomed ? 'multi-homed' : undefined,
    ].filter((x) => x !== undefined);
    lines.push(`${server.kind} :${server.port}`, extras.join(', '));
  }
  if (host.identd !== undefined)
    lines.push(`identd :${host.identd.port}${identdText(host.identd.behaviour)}`);
  if (host.echo !== undefined && host.echo.length > 0) {
    const echo = [...host.echo].sort((a, b) => a.port - b.port).map((e) => `${e.kind} :${e.port}`);
    lines.push(echo.join(', '));
  }
  return lines;
}

/** Finds the topology host a name or address from a config or trace refers to. */
export class HostIndex {
  private readonly byExactName = new Map<string, HostModel>();
  private readonly byLowerName = new Map<string, HostModel>();
  private readonly byAddress = new Map<string, HostModel>();

  constructor(topology: ResolvedTopology) {
    // Sorted, and first one wins: a duplicated address resolves the same way every time.
    for (const host of sortedHosts(topology)) {
      this.byExactName.set(host.name, host);
      if (!this.byLowerName.has(host.name.toLowerCase())) this.byLowerName.set(host.name.toLowerCase(), host);
      for (const iface of host.interfaces)
        if (!this.byAddress.has(iface.address)) this.byAddress.set(iface.address, host);
    }
  }

  /** Host name first, then an interface address, then the name without regard to case. */
  find(ref: string): HostModel | undefined {
    return this.byExactName.get(ref) ?? this.byAddress.get(ref) ?? this.byLowerName.get(ref.toLowerCase());
  }
}
