import { TopologyErrorCode as Codes, suggest, type YamlPath } from './errors.ts';
import type { MergedHost } from './host-defaults.ts';
import type { InterfaceModel, NetworkModel } from './model.ts';
import { addIssue, hostFieldPath, type ResolveContext } from './resolve-context.ts';
import { parseSubnet, type Subnet } from './subnet.ts';

/**
 * Networks and the addresses of hosts on them: each subnet parsed, each written address checked
 * (inside its subnet, usable, free), then every `auto` given the first free address. Explicit
 * addresses go first, so `auto` never takes an address someone wrote.
 */

/** The networks as declared, with each one's parsed subnet (a bad one is an issue at its `subnet`). */
export function resolveNetworks(ctx: ResolveContext): {
  networks: NetworkModel[];
  subnets: Map<string, Subnet>;
} {
  const networks: NetworkModel[] = [];
  const subnets = new Map<string, Subnet>();
  for (const [name, net] of Object.entries(ctx.raw.networks)) {
    const subnet = parseSubnet(net.subnet);
    if (typeof subnet === 'string') addIssue(ctx, Codes.Subnet, ['networks', name, 'subnet'], subnet);
    else subnets.set(name, subnet);
    networks.push({ name, subnet: net.subnet, ...(net.description ? { description: net.description } : {}) });
  }
  return { networks, subnets };
}

/** One `addresses:` entry of a host: the network, the address written (or `auto`), where. */
interface AddressEntry {
  readonly network: string;
  readonly address: string;
  readonly path: YamlPath;
}

/** An `auto` entry waiting for the explicit addresses of every host to be taken first. */
interface AutoRequest {
  readonly host: string;
  readonly network: string;
  readonly subnet: Subnet;
  readonly path: YamlPath;
}

/** The interfaces of every host, by host name, in the order the networks are declared. */
export function assignAddresses(
  ctx: ResolveContext,
  hosts: readonly MergedHost[],
  subnets: ReadonlyMap<string, Subnet>,
): Map<string, InterfaceModel[]> {
  /** Canonical address → who has it, for the "already taken" message. */
  const taken = new Map<string, string>();
  const interfaces = new Map<string, InterfaceModel[]>();
  const autos: AutoRequest[] = [];
  for (const h of hosts) {
    const list: InterfaceModel[] = [];
    interfaces.set(h.name, list);
    const seenNets = new Set<string>();
    for (const entry of addressEntries(ctx, h)) {
      const subnet = entryNetwork(ctx, h.name, entry, seenNets, subnets);
      if (!subnet) continue;
      if (entry.address === 'auto') {
        autos.push({ host: h.name, network: entry.network, subnet, path: entry.path });
        continue;
      }
      const address = claimWritten(ctx, h.name, entry, subnet, taken);
      if (address !== undefined) list.push({ network: entry.network, address });
    }
  }
  for (const a of autos) {
    const address = claimAuto(ctx, a, taken);
    if (address !== undefined) interfaces.get(a.host)?.push({ network: a.network, address });
  }
  // Keep interfaces in the order the networks are declared, so "the first address" is stable.
  const networkOrder = Object.keys(ctx.raw.networks);
  for (const list of interfaces.values()) {
    list.sort((x, y) => networkOrder.indexOf(x.network) - networkOrder.indexOf(y.network));
  }
  return interfaces;
}

/** A host's `addresses:`, a list of networks (all `auto`) or a network → address mapping. */
function addressEntries(ctx: ResolveContext, h: MergedHost): AddressEntry[] {
  const addresses = h.fields.addresses;
  const entries: AddressEntry[] = Array.isArray(addresses)
    ? addresses.map((network, i) => ({
        network,
        address: 'auto',
        path: [...hostFieldPath(ctx, h.name, h.role, 'addresses'), i],
      }))
    : Object.entries(addresses ?? {}).map(([network, address]) => ({
        network,
        address,
        path: hostFieldPath(ctx, h.name, h.role, 'addresses', network),
      }));
  if (entries.length === 0) {
    addIssue(
      ctx,
      Codes.Reference,
      ['hosts', h.name],
      `host ${h.name} has no addresses; add \`addresses: [<network>]\``,
    );
  }
  return entries;
}

/** The subnet of an entry's network; undefined (with an issue) for an unknown network or the host's second entry on one. */
function entryNetwork(
  ctx: ResolveContext,
  host: string,
  entry: AddressEntry,
  seenNets: Set<string>,
  subnets: ReadonlyMap<string, Subnet>,
): Subnet | undefined {
  const { network, path: p } = entry;
  if (!(network in ctx.raw.networks)) {
    const known = Object.keys(ctx.raw.networks);
    const hint = suggest(network, known);
    addIssue(
      ctx,
      Codes.Reference,
      p,
      `unknown network \`${network}\`${hint ? `; did you mean \`${hint}\`?` : ''} known networks: ${known.join(', ')}`,
    );
    return undefined;
  }
  if (seenNets.has(network)) {
    addIssue(ctx, Codes.Duplicate, p, `host ${host} is on network ${network} twice`);
    return undefined;
  }
  seenNets.add(network);
  // A network whose subnet did not parse has its issue already; its hosts get no address on it.
  return subnets.get(network);
}

/** A written address in canonical form, taken for `host`; undefined (with an issue) when it is no usable, free address of the subnet. */
function claimWritten(
  ctx: ResolveContext,
  host: string,
  entry: AddressEntry,
  subnet: Subnet,
  taken: Map<string, string>,
): string | undefined {
  const { network, address, path: p } = entry;
  const canonical = subnet.canonical(address);
  if (canonical === null) {
    const form = subnet.family === 4 ? 'a dotted IPv4 address' : 'an IPv6 address';
    addIssue(
      ctx,
      Codes.Address,
      p,
      `address \`${address}\` is not ${form} (network ${network} is ${subnet.text}) or \`auto\``,
    );
    return undefined;
  }
  if (!subnet.contains(canonical)) {
    addIssue(ctx, Codes.Address, p, `address ${address} is outside network ${network} (${subnet.text})`);
    return undefined;
  }
  if (!subnet.usable(canonical)) {
    const which = subnet.family === 4 ? 'network or broadcast' : 'subnet-router anycast';
    addIssue(ctx, Codes.Address, p, `address ${address} is the ${which} address of ${network}`);
    return undefined;
  }
  const owner = taken.get(canonical);
  if (owner !== undefined) {
    addIssue(ctx, Codes.Duplicate, p, `address ${address} is already taken by ${owner}`);
    return undefined;
  }
  taken.set(canonical, `${host} (on ${network})`);
  return canonical;
}

/** The first free usable address of the network, taken for the host; undefined (with an issue) when none is left. */
function claimAuto(ctx: ResolveContext, a: AutoRequest, taken: Map<string, string>): string | undefined {
  for (const text of a.subnet.hosts()) {
    if (taken.has(text)) continue;
    taken.set(text, `${a.host} (on ${a.network})`);
    return text;
  }
  addIssue(ctx, Codes.Address, a.path, `network ${a.network} has no free address left for ${a.host}`);
  return undefined;
}
