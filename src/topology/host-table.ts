import { isDottedQuadShape } from '../common/inet-address.ts';
import type { Resolver } from '../common/resolver.ts';
import { tableResolver } from '../common/table-resolver.ts';
import { parseUserFile, type UserFileReader } from '../config/user-file.ts';
import type { HostModel, NameEntry, ResolvedTopology, ServerModel } from './model.ts';

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

/**
 * The least the lab's name helpers need of a host: its name and interfaces. HostModel has them,
 * and so has the directory the host agents read (runtime/host-spec.ts), so one set of helpers
 * serves the local runtime, the agents inside netns/docker hosts and the static analysis.
 */
export interface NamedHost {
  readonly name: string;
  readonly interfaces: readonly { readonly network: string; readonly address: string }[];
}

/** The host named (case-insensitively) or addressed by `nameOrAddress`. */
export function findHost<H extends NamedHost>(hosts: readonly H[], nameOrAddress: string): H | undefined {
  const key = nameOrAddress.toLowerCase();
  return hosts.find(
    (h) => h.name.toLowerCase() === key || h.interfaces.some((i) => i.address === nameOrAddress),
  );
}

/**
 * The address host `from` reaches `target` by: the first address of `from`'s own answer for the
 * name (its `hosts:` entries and zones, names.ts), else a topology host's address on a network
 * they share, else its first. An address, or a name `from` cannot resolve, stays as it is.
 */
export function addressFrom(
  hosts: readonly NamedHost[],
  from: string,
  target: string,
  own: readonly NameEntry[] = [],
): string {
  if (isDottedQuadShape(target)) return target;
  const key = target.toLowerCase();
  const entry = own.find((e) => e.name.toLowerCase() === key);
  if (entry?.addresses[0] !== undefined) return entry.addresses[0];
  const t = hosts.find((h) => h.name.toLowerCase() === target.toLowerCase());
  if (!t) return target;
  const origin = hosts.find((h) => h.name === from);
  const shared = t.interfaces.find((i) => origin?.interfaces.some((o) => o.network === i.network));
  return (shared ?? t.interfaces[0])?.address ?? target;
}

/** The lab's name service: host name ↔ its addresses, from the topology, never real DNS. */
export function hostsResolver(hosts: readonly NamedHost[]): Resolver {
  const forward = new Map<string, string[]>();
  const reverse = new Map<string, string[]>();
  for (const h of hosts) {
    forward.set(
      h.name,
      h.interfaces.map((i) => i.address),
    );
    for (const i of h.interfaces) reverse.set(i.address, [h.name]);
  }
  return tableResolver({ forward, reverse });
}

/** User files (c.8) read by `read` (undefined: no such file), parsed as a server reads them. */
export function userFileReader(read: (path: string) => string | undefined): UserFileReader {
  return (path) => {
    const text = read(path);
    return text === undefined
      ? { ok: false, error: 'No such file or directory' }
      : { ok: true, names: parseUserFile(text) };
  };
}

/** User files named by absolute path in a server's configs, served from the topology's texts. */
export function topologyUserFiles(server: Pick<ServerModel, 'userFiles'> | undefined): UserFileReader {
  const files = new Map((server?.userFiles ?? []).map((f) => [f.path, f.text]));
  return userFileReader((path) => files.get(path));
}
