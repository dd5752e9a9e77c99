import type { Resolver } from '../common/resolver.ts';
import { tableResolver } from '../common/table-resolver.ts';
import type { NamedHost } from './host-table.ts';
import type { NameEntry, ResolvedTopology } from './model.ts';

/**
 * Name resolution per host (split DNS). Every host of the lab resolves names from three sources,
 * first answer wins:
 *
 * 1. its own `hosts:` entries (its /etc/hosts);
 * 2. the zones (`networks.<n>.names`) of the networks it is on — the loader refuses two zones
 *    of one host that disagree on a name, unless the host's own entries settle it;
 * 3. the topology's host names (a host name resolves to every address of that host), on every
 *    host, as before zones existed.
 *
 * A name none of them knows is unresolvable *there*: a server answers it as the spec says (4A:
 * 91; SOCKS 5: host unreachable) or, as an rsockd routing to an upstream, passes it on as a name
 * (d.8). Reverse lookups answer the topology host name first, then the host's entries and
 * zone names that list the address. Never real DNS, on every runtime.
 */

/** Where a host's answer for a name comes from. */
export type NameSource = 'hosts' | `zone:${string}` | 'topology';

/** One name of a host's own table (its entries and zones, precedence applied). */
export interface HostNameEntry extends NameEntry {
  readonly source: Exclude<NameSource, 'topology'>;
}

/** The names a host resolves beyond the topology's host names, precedence applied (JSON-safe). */
export type HostNames = readonly HostNameEntry[];

/** The host's own entries and its networks' zones, one entry per name (first source wins). */
export function hostNamesOf(
  topology: Pick<ResolvedTopology, 'hosts' | 'networks'>,
  hostName: string,
): HostNames {
  const host = topology.hosts.find((h) => h.name === hostName);
  if (!host) return [];
  const out: HostNameEntry[] = [];
  const seen = new Set<string>();
  const add = (e: NameEntry, source: HostNameEntry['source']) => {
    const key = e.name.toLowerCase();
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ name: e.name, addresses: e.addresses, source });
  };
  for (const e of host.names ?? []) add(e, 'hosts');
  for (const iface of host.interfaces) {
    const net = topology.networks.find((n) => n.name === iface.network);
    for (const e of net?.names ?? []) add(e, `zone:${iface.network}`);
  }
  return out;
}

/** Does any host of the topology resolve a name beyond the host names (zones or entries)? */
export function hasSplitNames(topology: Pick<ResolvedTopology, 'hosts' | 'networks'>): boolean {
  return (
    topology.networks.some((n) => (n.names?.length ?? 0) > 0) ||
    topology.hosts.some((h) => (h.names?.length ?? 0) > 0)
  );
}

/** The answer `own` gives for a name, case-insensitively. */
export function ownEntry(own: HostNames, name: string): HostNameEntry | undefined {
  const key = name.toLowerCase();
  return own.find((e) => e.name.toLowerCase() === key);
}

/** Forward answer of a host: its own entry, else the topology host's addresses, else none. */
export function forwardOf(hosts: readonly NamedHost[], own: HostNames, name: string): readonly string[] {
  const entry = ownEntry(own, name);
  if (entry) return entry.addresses;
  const key = name.toLowerCase();
  const h = hosts.find((x) => x.name.toLowerCase() === key);
  return h ? h.interfaces.map((i) => i.address) : [];
}

/** Where a host's answer for a name comes from; undefined = unresolvable there. */
export function nameSourceOf(
  hosts: readonly NamedHost[],
  own: HostNames,
  name: string,
): NameSource | undefined {
  const entry = ownEntry(own, name);
  if (entry) return entry.source;
  const key = name.toLowerCase();
  return hosts.some((x) => x.name.toLowerCase() === key) ? 'topology' : undefined;
}

/**
 * The forward and reverse tables of one host. Reverse is derived from forward (an address's
 * names are those that resolve to it here, topology host names first), so the hosts(5) text
 * below, where a line both names and resolves, gives the very same answers.
 */
function tables(hosts: readonly NamedHost[], own: HostNames) {
  const forward = new Map<string, string[]>();
  for (const h of hosts) {
    if (ownEntry(own, h.name)) continue;
    forward.set(
      h.name,
      h.interfaces.map((i) => i.address),
    );
  }
  for (const e of own) forward.set(e.name, [...e.addresses]);
  const reverse = new Map<string, string[]>();
  for (const [name, addresses] of forward)
    for (const a of addresses) reverse.set(a, [...(reverse.get(a) ?? []), name]);
  return { forward, reverse };
}

/** One host's name service: its entries, its zones, the topology's host names; never real DNS. */
export function hostNamesResolver(hosts: readonly NamedHost[], own: HostNames): Resolver {
  return tableResolver(tables(hosts, own));
}

/**
 * The same table as hosts(5) text, for the servers' `--hosts` file inside netns/docker hosts:
 * one line per address with the names that resolve to it here. (A name with several addresses
 * resolves in line order, so its addresses are listed in the order the lines come.)
 */
export function hostsFileText(hosts: readonly NamedHost[], own: HostNames): string {
  const { reverse } = tables(hosts, own);
  const lines = ['# sockslab: names this host resolves (its hosts: entries, its zones, the topology hosts)'];
  for (const [address, names] of reverse) lines.push(`${address} ${names.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
