import type { HostModel, ResolvedTopology } from './model.ts';

/**
 * The topology's host table: names ↔ addresses. The lab resolves names with it (never real DNS),
 * the loader checks upstream references with it, and the runtime maps peers back to host names.
 */
export interface HostTable {
  /** A host by name (case-insensitive, as DNS names are). */
  byName(name: string): HostModel | undefined;
  /** The host owning a topology address. */
  byAddress(address: string): HostModel | undefined;
  /** A host name, or a dotted address of some host → that host. */
  lookup(nameOrAddress: string): HostModel | undefined;
}

export function hostTable(topology: Pick<ResolvedTopology, 'hosts'>): HostTable {
  const names = new Map<string, HostModel>();
  const addresses = new Map<string, HostModel>();
  for (const host of topology.hosts) {
    names.set(host.name.toLowerCase(), host);
    for (const iface of host.interfaces) addresses.set(iface.address, host);
  }
  return {
    byName: (name) => names.get(name.toLowerCase()),
    byAddress: (address) => addresses.get(address),
    lookup: (x) => addresses.get(x) ?? names.get(x.toLowerCase()),
  };
}

/** The server process of a host, named by an entry of a server list (`@=B,10.2.0.1`). */
export function serverHost(table: HostTable, entry: string): HostModel | undefined {
  const host = table.lookup(entry);
  return host?.server ? host : undefined;
}
