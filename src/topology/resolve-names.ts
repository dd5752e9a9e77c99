import { dottedOf, isDottedQuadShape, parseDottedQuad } from '../common/inet-address.ts';
import { TopologyErrorCode as Codes, suggest, type YamlPath } from './errors.ts';
import type { HostModel, InterfaceModel, NameEntry, NetworkModel } from './model.ts';
import { addIssue, type ResolveContext } from './resolve-context.ts';

/**
 * The names of a topology (split DNS, names.ts): a host's own `hosts:` entries and the zones of
 * its networks, resolved to addresses once every host has its addresses (an entry may name a
 * host), and checked so that no host is left with two answers for one name.
 */

/** Interfaces of every host by host name, as address assignment made them. */
export type InterfacesByHost = ReadonlyMap<string, readonly InterfaceModel[]>;

/** A host's own `hosts:` entries; a host name stands for its address on a network shared with `host`. */
export function resolveOwnNames(
  ctx: ResolveContext,
  raw: Readonly<Record<string, string | readonly string[]>> | undefined,
  host: string,
  interfaces: InterfacesByHost,
  where: (name: string) => YamlPath,
): NameEntry[] {
  return resolveNameEntries(ctx, raw, (target) => hostAddressFrom(interfaces, host, target), where);
}

/** Every network with its zone (`networks.<n>.names`); a host name stands for its address on that network. */
export function resolveZones(
  ctx: ResolveContext,
  networks: readonly NetworkModel[],
  interfaces: InterfacesByHost,
): NetworkModel[] {
  const out = [...networks];
  for (const [i, [name, net]] of Object.entries(ctx.raw.networks).entries()) {
    if (!net.names) continue;
    const zone = resolveNameEntries(
      ctx,
      net.names,
      (target) => addressOf(interfaces, target, (network) => network === name),
      (entry) => ['networks', name, 'names', entry],
    );
    const model = out[i];
    if (model && zone.length > 0) out[i] = { ...model, names: zone };
  }
  return out;
}

/**
 * A host on two networks whose zones give one name different addresses has no single answer:
 * an error at the second zone's entry, unless the host's own `hosts:` entries settle the name.
 */
export function checkZoneConflicts(
  ctx: ResolveContext,
  networks: readonly NetworkModel[],
  hosts: readonly HostModel[],
): void {
  const reported = new Set<string>();
  for (const host of hosts) {
    const own = new Set((host.names ?? []).map((n) => n.name.toLowerCase()));
    const seen = new Map<string, { network: string; addresses: string }>();
    for (const iface of host.interfaces) {
      const net = networks.find((n) => n.name === iface.network);
      for (const e of net?.names ?? []) {
        const key = e.name.toLowerCase();
        if (own.has(key)) continue;
        const addresses = e.addresses.join(',');
        const prev = seen.get(key);
        if (!prev) {
          seen.set(key, { network: iface.network, addresses });
          continue;
        }
        if (prev.addresses === addresses || prev.network === iface.network) continue;
        const id = `${prev.network}|${iface.network}|${key}`;
        if (reported.has(id)) continue;
        reported.add(id);
        addIssue(
          ctx,
          Codes.Duplicate,
          ['networks', iface.network, 'names', e.name],
          `host ${host.name} is on ${prev.network} and ${iface.network}, whose zones resolve ${e.name} differently (${prev.addresses} and ${addresses}); give ${host.name} its own answer under \`hosts: { ${e.name}: … }\``,
        );
      }
    }
  }
}

/** The key of `interfaces` equal to `name` but for case (host names resolve case-insensitively). */
function caseFold(map: ReadonlyMap<string, unknown>, name: string): string {
  const lower = name.toLowerCase();
  for (const k of map.keys()) if (k.toLowerCase() === lower) return k;
  return name;
}

/** The address host `from` reaches host `target` by: one on a network they share, else its first. */
function hostAddressFrom(interfaces: InterfacesByHost, from: string, target: string): string | undefined {
  const mine = interfaces.get(from) ?? [];
  return addressOf(interfaces, target, (network) => mine.some((m) => m.network === network));
}

/** Host `target`'s address (its name matched without case) on the first network `wanted` takes, else its first. */
function addressOf(
  interfaces: InterfacesByHost,
  target: string,
  wanted: (network: string) => boolean,
): string | undefined {
  const list = interfaces.get(target) ?? interfaces.get(caseFold(interfaces, target));
  if (!list) return undefined;
  return (list.find((x) => wanted(x.network)) ?? list[0])?.address;
}

/**
 * `name: address | host | [..]` entries (a zone or a host's own table) → NameEntry list. An
 * address must be dotted IPv4 (the SOCKS 4 resolver's only family); a host name stands for the
 * address `hostAddress` gives. Every bad entry is an issue at its own YAML position.
 */
function resolveNameEntries(
  ctx: ResolveContext,
  raw: Readonly<Record<string, string | readonly string[]>> | undefined,
  hostAddress: (host: string) => string | undefined,
  where: (name: string) => YamlPath,
): NameEntry[] {
  const out: NameEntry[] = [];
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(raw ?? {})) {
    const p = where(name);
    if (seen.has(name.toLowerCase())) {
      addIssue(ctx, Codes.Duplicate, p, `name ${name} is listed twice (names compare case-insensitively)`);
      continue;
    }
    seen.add(name.toLowerCase());
    const targets = typeof value === 'string' ? [value] : value;
    const addresses: string[] = [];
    targets.forEach((t, i) => {
      const at = typeof value === 'string' ? p : [...p, i];
      const a = nameTargetAddress(ctx, name, t, at, hostAddress);
      if (a !== undefined && !addresses.includes(a)) addresses.push(a);
    });
    if (addresses.length > 0) out.push({ name, addresses });
  }
  return out;
}

/** One target of a name entry as a dotted IPv4 address: itself, or the host's; undefined (and an issue) when neither. */
function nameTargetAddress(
  ctx: ResolveContext,
  name: string,
  target: string,
  at: YamlPath,
  hostAddress: (host: string) => string | undefined,
): string | undefined {
  if (isDottedQuadShape(target)) {
    const n = parseDottedQuad(target);
    if (n === undefined) {
      addIssue(ctx, Codes.Address, at, `\`${target}\` is not a dotted IPv4 address (each part is 0-255)`);
      return undefined;
    }
    return dottedOf(n);
  }
  const a = hostAddress(target);
  if (a === undefined) {
    const hint = suggest(target, Object.keys(ctx.raw.hosts));
    addIssue(
      ctx,
      Codes.Reference,
      at,
      `name ${name}: \`${target}\` is neither a dotted IPv4 address nor a host of this topology${hint ? `; did you mean \`${hint}\`?` : ''}`,
    );
    return undefined;
  }
  if (!isDottedQuadShape(a)) {
    addIssue(ctx, Codes.Address, at, `name ${name}: host ${target} has no IPv4 address to resolve to (${a})`);
    return undefined;
  }
  return a;
}
