import type { HostModel, ResolvedTopology } from '../topology/model.ts';
import type { ParsedHostConfigs } from '../topology/resolve.ts';
import { LabWorld } from './world.ts';

/**
 * How the hosts and networks of two designs correspond (`sockslab diff`): hosts with one name in
 * both are shared; a host that left under one name and came back under another with the same
 * role and the same addresses is *renamed*; the rest were added or removed. Classes are
 * compared only where both designs have the hosts they involve.
 */

/** One state of a design: its topology and the parsed configs of every host. */
export interface Design {
  readonly topology: ResolvedTopology;
  readonly configs: ReadonlyMap<string, ParsedHostConfigs>;
  /** How reports name it: the topology file, or `topology.yaml + dir/`. */
  readonly label: string;
}

export interface HostChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly renamed: readonly { readonly before: string; readonly after: string }[];
  readonly networksAdded: readonly string[];
  readonly networksRemoved: readonly string[];
}

export interface HostMapping extends HostChanges {
  /** Before name → after name, for every host both designs have. */
  readonly toAfter: ReadonlyMap<string, string>;
  /** After name → before name. */
  readonly toBefore: ReadonlyMap<string, string>;
}

const addressKey = (h: HostModel) =>
  `${h.role}|${h.interfaces
    .map((i) => i.address)
    .sort()
    .join(',')}`;

export function matchHosts(before: ResolvedTopology, after: ResolvedTopology): HostMapping {
  const afterNames = new Set(after.hosts.map((h) => h.name));
  const beforeNames = new Set(before.hosts.map((h) => h.name));
  const toAfter = new Map<string, string>();
  for (const h of before.hosts) if (afterNames.has(h.name)) toAfter.set(h.name, h.name);
  const gone = before.hosts.filter((h) => !afterNames.has(h.name));
  const come = after.hosts.filter((h) => !beforeNames.has(h.name));
  const renamed: { before: string; after: string }[] = [];
  for (const g of gone) {
    const twin = come.find(
      (c) => addressKey(c) === addressKey(g) && !renamed.some((r) => r.after === c.name),
    );
    if (twin) {
      renamed.push({ before: g.name, after: twin.name });
      toAfter.set(g.name, twin.name);
    }
  }
  const netsBefore = new Set(before.networks.map((n) => n.name));
  const netsAfter = new Set(after.networks.map((n) => n.name));
  return {
    added: come.filter((c) => !renamed.some((r) => r.after === c.name)).map((c) => c.name),
    removed: gone.filter((g) => !renamed.some((r) => r.before === g.name)).map((g) => g.name),
    renamed,
    networksAdded: [...netsAfter].filter((n) => !netsBefore.has(n)),
    networksRemoved: [...netsBefore].filter((n) => !netsAfter.has(n)),
    toAfter,
    toBefore: new Map([...toAfter].map(([b, a]) => [a, b])),
  };
}

export function hostsChanged(m: HostChanges): boolean {
  return (
    m.added.length + m.removed.length + m.renamed.length + m.networksAdded.length + m.networksRemoved.length >
    0
  );
}

/**
 * The worlds the joint class space is cut from. Same hosts: the before world, refined by the
 * after world. Otherwise a merged world — the before topology plus the hosts only the after
 * design has (with their configs), so every address and name of either design is an atom —
 * refined by the after world with renamed hosts under their before names (so its configs cut
 * the same origins' users and servers).
 */
export function jointWorlds(
  before: Design,
  after: Design,
  m: HostMapping,
): { readonly primary: LabWorld; readonly joint: readonly LabWorld[] } {
  const worldAfter = new LabWorld(after.topology, after.configs);
  if (!hostsChanged(m))
    return { primary: new LabWorld(before.topology, before.configs), joint: [worldAfter] };
  const renamedBack = renameHosts(after, m.toBefore);
  const addedHosts = renamedBack.topology.hosts.filter((h) => m.added.includes(h.name));
  const nets = new Map(before.topology.networks.map((n) => [n.name, n]));
  for (const n of after.topology.networks) if (!nets.has(n.name)) nets.set(n.name, n);
  const configs = new Map(before.configs);
  for (const h of addedHosts) {
    const c = after.configs.get(h.name);
    if (c) configs.set(h.name, c);
  }
  const merged: ResolvedTopology = {
    ...before.topology,
    networks: [...nets.values()],
    hosts: [...before.topology.hosts, ...addedHosts],
  };
  return {
    primary: new LabWorld(merged, configs),
    joint: [new LabWorld(renamedBack.topology, renamedBack.configs)],
  };
}

/** The design with hosts renamed by `names` (unnamed hosts keep theirs). */
function renameHosts(d: Design, names: ReadonlyMap<string, string>): Design {
  const to = (n: string) => names.get(n) ?? n;
  return {
    label: d.label,
    topology: { ...d.topology, hosts: d.topology.hosts.map((h) => ({ ...h, name: to(h.name) })) },
    configs: new Map([...d.configs].map(([k, v]) => [to(k), v])),
  };
}
