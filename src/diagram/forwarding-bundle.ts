/**
 * Many hosts of one network often share a socks.conf (every workstation: "everything via the
 * gateway"). Drawn one by one that is a fan of identical edges; bundled, it is one edge from the
 * network saying how many hosts it stands for.
 */
import { describeRoute, type ForwardingEdge, type Upstream } from './forwarding.ts';
import { naturalCompare, type Placement } from './topology-facts.ts';

/** Hosts that must share a route before their edges are drawn as one. */
export const BUNDLE_MINIMUM = 3;

export type ForwardingSource =
  | { readonly kind: 'host'; readonly host: string }
  | {
      readonly kind: 'network';
      readonly network: string;
      readonly hosts: readonly string[];
      readonly all: boolean;
    };

export interface DrawnForwarding {
  readonly from: ForwardingSource;
  readonly to: Upstream;
  /** One line per route, `socks.conf:4 #1/2 for …`. */
  readonly lines: readonly string[];
}

const upstreamKey = (to: Upstream) => (to.kind === 'host' ? `h ${to.host}` : `x ${to.name}`);

/** Forwarding edges with same-network, same-route groups of hosts merged. Order is stable. */
export function bundleForwarding(edges: readonly ForwardingEdge[], place: Placement): DrawnForwarding[] {
  const networkOf = new Map<string, string>();
  const membersOf = new Map<string, number>();
  for (const { network, members } of place.networks) {
    membersOf.set(network.name, members.length);
    for (const { host } of members) networkOf.set(host.name, network.name);
  }
  const groups = new Map<string, { network: string; to: Upstream; lines: string[]; hosts: string[] }>();
  const single: DrawnForwarding[] = [];
  for (const edge of edges) {
    const lines = edge.routes.map(describeRoute);
    const network = networkOf.get(edge.from);
    if (network === undefined) {
      single.push({ from: { kind: 'host', host: edge.from }, to: edge.to, lines });
      continue;
    }
    const key = JSON.stringify([network, upstreamKey(edge.to), lines]);
    const group = groups.get(key) ?? { network, to: edge.to, lines, hosts: [] };
    group.hosts.push(edge.from);
    groups.set(key, group);
  }
  const drawn = [...single];
  for (const group of groups.values()) {
    if (group.hosts.length < BUNDLE_MINIMUM) {
      for (const host of group.hosts)
        drawn.push({ from: { kind: 'host', host }, to: group.to, lines: group.lines });
      continue;
    }
    drawn.push({
      from: {
        kind: 'network',
        network: group.network,
        hosts: [...group.hosts].sort(naturalCompare),
        all: group.hosts.length === membersOf.get(group.network),
      },
      to: group.to,
      lines: group.lines,
    });
  }
  const key = (d: DrawnForwarding) =>
    `${d.from.kind === 'host' ? `h ${d.from.host}` : `n ${d.from.network} ${d.from.hosts.join(',')}`}\u0000${upstreamKey(d.to)}`;
  return drawn.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** `all 10 hosts of lan1` / `4 hosts of lan1 (ws1, ws2, ws3, ws4)`. */
export function describeSource(from: Extract<ForwardingSource, { kind: 'network' }>): string {
  if (from.all) return `all ${from.hosts.length} hosts of ${from.network}`;
  const shown = from.hosts.length <= 4 ? from.hosts.join(', ') : `${from.hosts.slice(0, 3).join(', ')}, …`;
  return `${from.hosts.length} hosts of ${from.network} (${shown})`;
}

/** A drawn edge's label lines: a bundled edge first says which hosts it stands for. */
export function forwardingLines(drawn: DrawnForwarding): readonly string[] {
  const from = drawn.from;
  return from.kind === 'host' ? drawn.lines : [`${describeSource(from)}:`, ...drawn.lines];
}

/** The servers outside the topology the drawn edges end at, sorted. */
export function externalsOf(drawn: readonly DrawnForwarding[]): string[] {
  const names = new Set<string>();
  for (const d of drawn) if (d.to.kind === 'external') names.add(d.to.name);
  return [...names].sort();
}
