import { InputError } from '../common/errors.ts';
import { dottedOf as dotted, dottedOf, isDottedQuadShape, parseDottedQuad } from '../common/inet-address.ts';
import type { AddrSpec, ClientConfig, PortTest, ServerConfig, UserList } from '../config/ast.ts';
import { inetAton } from '../config/inet.ts';
import type { UserFileReader } from '../config/user-file.ts';
import { type HostIdentity, hostMatches } from '../policy/host.ts';
import { usersMatch } from '../policy/match.ts';
import type { ProbeProtocol, ProbeRequest } from '../runtime/runtime.ts';
import { addressFrom } from '../topology/host-table.ts';
import type { HostModel } from '../topology/model.ts';
import { forwardOf, hasSplitNames, ownEntry } from '../topology/names.ts';
import {
  type AddressRegion,
  type Cube,
  cubeOf,
  cubeText,
  type PortRegion,
  partitionAddresses,
  partitionPorts,
  portRegionHas,
  portRegionText,
  regionHas,
  regionWitness,
} from './atoms.ts';
import type { LabWorld } from './world.ts';

/**
 * Exact request classes of a topology (issue 14, item 1).
 *
 * The request space is origin host × user (process owner and the USERID it sends) × protocol
 * (SOCKS 4, 4A, 5) × destination × port, CONNECT, each request routed by the origin's socks.conf.
 * It is cut into classes inside which every line of every config of every hop answers the same,
 * and the network (which host owns an address, what it listens on, whether it runs) too. Every
 * atom is built from the configs and the topology themselves, so the enumeration is complete:
 *
 * - **Addresses.** The IPv4 space is partitioned by every (address, mask) of every destination
 *   field in every sockd.conf, socks.conf and sockd.route of every host (atoms.ts, exact for
 *   non-contiguous masks too). Then every topology host address, 0.0.0.0 (unspecified, c.6)
 *   and 127.0.0.1 (the d.3.1 loopback shortcut) is split out, since reachability and reverse
 *   names tell them apart. Host addresses that fall in the same region, sit on the same network,
 *   listen on the same ports, run alike and whose names match the same name/zone patterns are
 *   one atom (they differ only in the name at the end of the path). What remains of a region
 *   is an atom of "other addresses": its witness is an address of no host (unreachable).
 * - **Names** (SOCKS 4A, and SOCKS 5 with a domain name). Every host name of the topology (it
 *   resolves through the lab's host table) grouped as above by its pattern signature and its
 *   addresses' atoms; plus unresolvable names: each `name` pattern and zone apex that is no host,
 *   one fresh name below every zone (`unlisted.<zone>`: matches that zone and its parents only)
 *   and `unlisted.invalid` outside every zone. Any name matches exactly the patterns one of
 *   these matches (the deepest zone it lies in decides), so they cover every name.
 *   Caveat: a zone pattern whose last label is numeric (`.5`) could match a dotted address text;
 *   such zones are not treated apart.
 * - **Ports**, per destination atom: [0, 65535] cut by every port operator of every config and by
 *   the ports the atom's hosts listen on, then merged by the answers of every test (atoms.ts).
 * - **Users.** Process owners are the origin host's users (the topology defines who exists
 *   there; the live runtimes refuse others). The USERID sent (the *claim*) is any name: every
 *   literal of every user list and user file, every host user, server owner and lying identd
 *   answer, plus "any other user". The engine only ever compares names for equality with those
 *   literals, so a name's *signature* (the answer of every user list, and equality with every
 *   server owner and lying answer) decides everything: the owner's part is the origin's own
 *   socks.conf lists (the client library routes by its owner), the claim's part is every list of
 *   every server the origin can reach (transitively through socks.conf server lists) plus the
 *   equalities. An honest request (claim = owner) is classed by both signatures of the owner.
 *   A *forged claim* (claim ≠ owner, SOCKS 4/4A) is classed by (owner signature, claim
 *   signature): the first hop's truthful identd then answers the owner and never equals the
 *   claim, whatever names they are, so no finer split can matter. That bounds forged classes to
 *   (owner groups × claim groups), usually just the claim groups.
 * - **Protocols.** SOCKS 4 over address atoms; SOCKS 4A over name atoms (4A with a numeric
 *   destination is decided exactly as SOCKS 4, so it is counted there); SOCKS 5 over both, with
 *   no USERID (no RFC 1929 credentials), so only the owner's signature splits it.
 *
 * Every class keeps one concrete witness request; evaluating that witness with predictRequest
 * (the servers' own policy engine) answers for the whole class. `classOf` maps any request of
 * the space back to its class, which is what the property tests check.
 */

export type ClassProtocol = ProbeProtocol;

/** A set of ports one destination atom treats alike. */
export interface PortAtom {
  readonly id: string;
  readonly label: string;
  readonly witness: number;
  readonly intervals: readonly (readonly [number, number])[];
  /** A host of the destination listens on this (single) port. */
  readonly listening: boolean;
}

export interface DestinationAtom {
  /** Stable across runs of the same configs: `addr:…` or `name:…`. */
  readonly id: string;
  readonly kind: 'address' | 'name';
  readonly label: string;
  /** What the witness request names: a dotted address, or a DNS-style name. */
  readonly witness: string;
  /** Topology hosts in the atom (address atoms: owners of its addresses; name atoms: hosts of its names). */
  readonly hosts: readonly string[];
  /** Every address (address atoms) or name (name atoms) of topology hosts in the atom. */
  readonly members: readonly string[];
  /** The witness is a topology host, so a live run can reach it; false = no host there. */
  readonly live: boolean;
  /** Address atoms of "other addresses": the cubes of the region (for reports). */
  readonly region?: readonly string[];
  readonly ports: readonly PortAtom[];
}

export type UserKind = 'honest' | 'forged' | 'socks5';

/** Who sends the request: the process owner and the USERID it claims. */
export interface UserAtom {
  readonly id: string;
  readonly kind: UserKind;
  /** Witness process owner (a user of the origin host). */
  readonly owner: string;
  /** Witness USERID when it differs from the owner (forged); absent = the owner's own name. */
  readonly claim?: string;
  /** The origin's users this atom stands for as owner. */
  readonly owners: readonly string[];
  /** USERIDs this atom stands for (forged: the claim side); `*` = any name not written anywhere. */
  readonly claims: readonly string[];
  readonly label: string;
}

export interface OriginSpace {
  /** The witness origin host. */
  readonly origin: string;
  /**
   * Every host this origin stands for: hosts whose requests every config line answers alike
   * (same networks and source-rule answers, same users, identd, socks.conf and state).
   */
  readonly members: readonly string[];
  readonly label: string;
  /** SOCKS 4 and 4A users: honest ones, then forged claims. */
  readonly users: readonly UserAtom[];
  /** SOCKS 5 (no USERID): one per owner signature. */
  readonly users5: readonly UserAtom[];
  /** Hosts running servers this origin's requests can reach through socks.conf lists. */
  readonly servers: readonly string[];
}

export interface RequestClass {
  /** `origin|protocol|user|destination|port`, stable for the same configs. */
  readonly id: string;
  readonly origin: string;
  readonly protocol: ClassProtocol;
  readonly user: UserAtom;
  readonly destination: DestinationAtom;
  readonly port: PortAtom;
  readonly witness: ProbeRequest;
}

export interface ClassOptions {
  /** Only these origins (host names); default every host that sends requests. */
  readonly origins?: readonly string[];
  /**
   * Other states of the same design (another version of the configs, `sockslab diff`): their
   * patterns, masks, port operators, user lists, server lists and listening ports cut the atoms
   * too, so every class is uniform under each of these worlds as well (the joint refinement).
   * Witnesses and names stay the first world's.
   */
  readonly joint?: readonly LabWorld[];
}

/** Any name not written anywhere, in user atoms' `claims`. */
export const AnyOtherUser = '*';

const Loopback = 0x7f000001;

/** Every config of the world, with the user-file reader it is matched with. */
interface ConfigSet {
  readonly host: HostModel;
  readonly server?: ServerConfig;
  readonly client?: ClientConfig;
  readonly probe?: ClientConfig;
}

function configSets(world: LabWorld): ConfigSet[] {
  return world.topology.hosts.map((host) => {
    const server = world.serverConfig(host.name);
    const client = world.clientConfig(host.name);
    const probe = world.probeConfig(host.name);
    return {
      host,
      ...(server ? { server } : {}),
      ...(client ? { client } : {}),
      ...(probe ? { probe } : {}),
    };
  });
}

function allDstSpecs(world: LabWorld): AddrSpec[] {
  const specs: AddrSpec[] = [];
  for (const host of world.topology.hosts) {
    for (const r of world.serverConfig(host.name)?.rules ?? []) specs.push(r.dst);
    for (const r of world.clientConfig(host.name)?.rules ?? []) specs.push(r.dst);
    for (const r of world.probeConfig(host.name)?.rules ?? []) specs.push(r.dst);
    for (const r of world.routeConfig(host.name)?.routes ?? []) specs.push(r.dst);
  }
  return specs;
}

function allPortTests(world: LabWorld): PortTest[] {
  const tests = new Map<string, PortTest>();
  for (const host of world.topology.hosts) {
    const rules = [
      ...(world.serverConfig(host.name)?.rules ?? []),
      ...(world.clientConfig(host.name)?.rules ?? []),
      ...(world.probeConfig(host.name)?.rules ?? []),
    ];
    for (const r of rules) if (r.port) tests.set(`${r.port.op} ${r.port.port}`, r.port);
  }
  return [...tests.values()];
}

/** A host's listening ports in each world that has it (`|`-joined), for grouping alike hosts. */
function listeningKey(worlds: readonly LabWorld[], host: HostModel): string {
  return worlds
    .map((w) => {
      const h = w.host(host.name);
      return h ? `${listeningPorts(w, h).join(',')}${w.running(h.name) ? '' : '!'}` : '-';
    })
    .join('|');
}

/** Ports the host listens on in any of the worlds. */
function listeningUnion(worlds: readonly LabWorld[], host: HostModel): number[] {
  const ports = worlds.flatMap((w) => {
    const h = w.host(host.name);
    return h ? listeningPorts(w, h) : [];
  });
  return [...new Set(ports)].sort((a, b) => a - b);
}

function listeningPorts(world: LabWorld, host: HostModel): number[] {
  const ports = [
    ...(host.server ? [host.server.port] : []),
    ...(host.identd ? [host.identd.port] : []),
    ...(host.echo ?? []).map((e) => e.port),
  ];
  return [...new Set(ports)].sort((a, b) => a - b).filter(() => world.running(host.name));
}

/** The name and zone patterns of every destination field, one per distinct pattern. */
function namePatterns(specs: readonly AddrSpec[]): AddrSpec[] {
  const seen = new Map<string, AddrSpec>();
  for (const s of specs) {
    const p = s.pattern;
    if (p.kind === 'name') seen.set(`n:${p.name}`, s);
    if (p.kind === 'zone') seen.set(`z:${p.zone}`, s);
  }
  return [...seen.values()];
}

function identityOfNames(names: readonly string[], addresses: readonly number[]): HostIdentity {
  return { names, addresses, display: names[0] ?? '', dotted: dottedOf(addresses[0] ?? 0) };
}

function nameSignature(patterns: readonly AddrSpec[], names: readonly string[]): string {
  const id = identityOfNames(names, []);
  return patterns.map((p) => (hostMatches(id, p) ? 1 : 0)).join('');
}

/**
 * Split DNS (topology/names.ts): what every host of every world answers for a name, and which
 * names every host gives an address. Without zones or hosts: entries every host answers alike,
 * and one view stands for all.
 */
interface NameViews {
  /** `host → addresses` per world, for one name; [] = unresolvable there. */
  forward(name: string): readonly (readonly string[])[];
  /** The names each host of each world gives an address (its reverse answer). */
  reverse(address: string): readonly (readonly string[])[];
  /** Every name some host resolves beyond the topology's host names (lower case). */
  readonly extraNames: readonly string[];
  /** Addresses those names stand for. */
  readonly extraAddresses: readonly string[];
}

function nameViews(worlds: readonly LabWorld[]): NameViews {
  const views = worlds.flatMap((w) => {
    const hosts = w.topology.hosts;
    const split = hasSplitNames(w.topology);
    return (split ? hosts : hosts.slice(0, 1)).map((h) => ({ hosts, own: split ? w.namesOf(h.name) : [] }));
  });
  const extraNames = new Set<string>();
  const extraAddresses = new Set<string>();
  for (const v of views)
    for (const e of v.own) {
      extraNames.add(e.name.toLowerCase());
      for (const a of e.addresses) extraAddresses.add(a);
    }
  return {
    forward: (name) => views.map((v) => forwardOf(v.hosts, v.own, name)),
    reverse: (address) =>
      views.map((v) => {
        const names = v.hosts
          .filter((h) => h.interfaces.some((i) => i.address === address) && !ownEntry(v.own, h.name))
          .map((h) => h.name);
        for (const e of v.own) if (e.addresses.includes(address)) names.push(e.name);
        return names;
      }),
    extraNames: [...extraNames].sort(),
    extraAddresses: [...extraAddresses].sort(),
  };
}

/** The portion of the topology's configs a destination's ports are cut by. */
function portAtomsFor(tests: readonly PortTest[], listening: readonly number[]): PortAtom[] {
  return partitionPorts(tests, listening).map((r: PortRegion) => {
    const label = portRegionText(r);
    return {
      id: label,
      label,
      witness: r.witness,
      intervals: r.intervals,
      listening: r.listening,
    };
  });
}

interface AddressAtomInternal {
  readonly atom: DestinationAtom;
  /** Regions making up the atom (one per member address, or the "other" region). */
  readonly regions: readonly AddressRegion[];
}

/** A topology address and where it is. */
interface HostAddress {
  readonly host: HostModel;
  readonly network: string;
  readonly text: string;
}

/** Topology addresses whose regions every pattern and every world answer alike: one atom. */
interface HostAddressGroup {
  readonly regions: AddressRegion[];
  readonly members: string[];
  readonly hosts: string[];
}

/**
 * The address atoms: the address space cut by every mask the configs write, with every topology
 * address, 0.0.0.0, loopback and each address only a name stands for set apart; topology
 * addresses alike to every pattern in every world are then grouped as one atom.
 */
function buildAddressAtoms(
  world: LabWorld,
  specs: readonly AddrSpec[],
  tests: readonly PortTest[],
  worlds: readonly LabWorld[] = [world],
  views: NameViews = nameViews(worlds),
) {
  const cutList = addressCuts(specs);
  const hostAddresses = topologyAddresses(world);
  const named = nameOnlyAddresses(views, hostAddresses);
  const regions = partitionAddresses(cutList, [0, Loopback, ...hostAddresses.keys(), ...named.keys()]);
  const patterns = namePatterns(specs);
  const atoms: AddressAtomInternal[] = [];
  const grouped = new Map<string, HostAddressGroup>();
  for (const r of regions) {
    const alias = r.single !== undefined ? named.get(r.single) : undefined;
    if (alias !== undefined) {
      atoms.push(namedAddressAtom(r, alias, views, tests));
      continue;
    }
    if (r.single === undefined || r.single === 0 || r.single === Loopback) {
      atoms.push(hostlessAddressAtom(r, cutList, tests));
      continue;
    }
    const owner = hostAddresses.get(r.single)!;
    const key = hostAddressKey(world, worlds, views, patterns, r, owner);
    const g = grouped.get(key) ?? { regions: [], members: [], hosts: [] };
    g.regions.push(r);
    g.members.push(owner.text);
    if (!g.hosts.includes(owner.host.name)) g.hosts.push(owner.host.name);
    grouped.set(key, g);
  }
  for (const g of grouped.values()) atoms.push(hostAddressAtom(g, hostAddresses, worlds, tests));
  return { atoms, patterns };
}

/** The distinct address/mask cubes of the configs' numeric fields (mask 0 matches every address: no cut). */
function addressCuts(specs: readonly AddrSpec[]): Cube[] {
  const cuts = new Map<string, Cube>();
  for (const s of specs) {
    if (s.pattern.kind !== 'ip' || s.mask >>> 0 === 0) continue;
    const c = cubeOf(s.pattern.addr, s.mask);
    cuts.set(`${c.value}/${c.mask}`, c);
  }
  return [...cuts.values()];
}

function topologyAddresses(world: LabWorld): Map<number, HostAddress> {
  const hostAddresses = new Map<number, HostAddress>();
  for (const host of world.topology.hosts)
    for (const i of host.interfaces) {
      const n = parseDottedQuad(i.address);
      if (n !== undefined) hostAddresses.set(n, { host, network: i.network, text: i.address });
    }
  return hostAddresses;
}

/** Addresses a zone or hosts: entry names but no host owns: reverse names set them apart. */
function nameOnlyAddresses(
  views: NameViews,
  hostAddresses: ReadonlyMap<number, HostAddress>,
): Map<number, string> {
  const named = new Map<number, string>();
  for (const a of views.extraAddresses) {
    const n = parseDottedQuad(a);
    if (n !== undefined && !hostAddresses.has(n) && n !== 0 && n !== Loopback) named.set(n, a);
  }
  return named;
}

/** Which cuts a region lies inside, as a bit string. */
function insideBits(r: AddressRegion): string {
  return r.inside.map((b) => (b ? 1 : 0)).join('');
}

/** No host there (unreachable), but some host's names resolve to it. */
function namedAddressAtom(
  r: AddressRegion,
  alias: string,
  views: NameViews,
  tests: readonly PortTest[],
): AddressAtomInternal {
  const names = [...new Set(views.reverse(alias).flat())];
  return {
    regions: [r],
    atom: {
      id: `addr:${alias}`,
      kind: 'address',
      label: `${alias} (named ${names.join(', ')})`,
      witness: alias,
      hosts: [],
      members: [alias],
      live: false,
      ports: portAtomsFor(tests, []),
    },
  };
}

/** 0.0.0.0, loopback, or a region of addresses no host owns, labelled by the innermost cut it lies in. */
function hostlessAddressAtom(
  r: AddressRegion,
  cutList: readonly Cube[],
  tests: readonly PortTest[],
): AddressAtomInternal {
  const inside = insideBits(r);
  const witness = dottedOf(regionWitness(r));
  const innermost = cutList
    .filter((_, i) => r.inside[i])
    .sort((a, b) => Math.clz32(~a.mask >>> 0) - Math.clz32(~b.mask >>> 0))
    .pop();
  const label =
    r.single === 0
      ? '0.0.0.0 (unspecified)'
      : r.single === Loopback
        ? '127.0.0.1 (loopback)'
        : innermost
          ? `other in ${cubeText(innermost)}`
          : 'other addresses';
  return {
    regions: [r],
    atom: {
      id: `addr:${r.single !== undefined ? witness : innermost ? `${cubeText(innermost)}~${inside}` : `*~${inside}`}`,
      kind: 'address',
      label,
      witness,
      hosts: [],
      members: [],
      live: false,
      ...(r.single === undefined ? { region: r.cubes.slice(0, 8).map(cubeText) } : {}),
      ports: portAtomsFor(tests, []),
    },
  };
}

/**
 * What a topology address is to every config line: the cuts it lies in, what every host answers a
 * reverse lookup of it with (as pattern answers), its network, its host's ports and state.
 */
function hostAddressKey(
  world: LabWorld,
  worlds: readonly LabWorld[],
  views: NameViews,
  patterns: readonly AddrSpec[],
  r: AddressRegion,
  owner: HostAddress,
): string {
  const reverseKey = views
    .reverse(owner.text)
    .map((names) => nameSignature(patterns, names))
    .join(',');
  return [
    insideBits(r),
    reverseKey,
    owner.network,
    listeningKey(worlds, owner.host),
    world.running(owner.host.name) ? 'up' : 'down',
  ].join('|');
}

/** One atom for a group of alike topology addresses; its first address is the witness. */
function hostAddressAtom(
  g: HostAddressGroup,
  hostAddresses: ReadonlyMap<number, HostAddress>,
  worlds: readonly LabWorld[],
  tests: readonly PortTest[],
): AddressAtomInternal {
  const first = hostAddresses.get(g.regions[0]!.single!)!;
  const label =
    g.hosts.length === 1
      ? `${first.host.name} ${first.text}`
      : `${g.hosts.length} like ${first.host.name} (${first.network})`;
  return {
    regions: g.regions,
    atom: {
      id: `addr:${first.text}`,
      kind: 'address',
      label,
      witness: first.text,
      hosts: g.hosts,
      members: g.members,
      live: true,
      ports: portAtomsFor(tests, listeningUnion(worlds, first.host)),
    },
  };
}

interface NameAtomInternal {
  readonly atom: DestinationAtom;
  /** Pattern signature and what every host resolves the name to, as address atoms. */
  readonly key: string;
}

function freshLabel(taken: (name: string) => boolean, zone: string): string {
  for (let i = 0; ; i++) {
    const name = `unlisted${i === 0 ? '' : i}.${zone}`;
    if (!taken(name)) return name;
  }
}

/**
 * A name's class key: the answers of every name and zone pattern, and, per host of every world,
 * the address atoms it resolves to there (split DNS: `-` where it does not resolve).
 */
function nameKey(
  patterns: readonly AddrSpec[],
  views: NameViews,
  addressAtomOf: (addr: number) => DestinationAtom | undefined,
  name: string,
): string {
  const where = views.forward(name).map((all) => {
    const addrs = all.flatMap((a) => {
      const n = parseDottedQuad(a);
      return n === undefined ? [] : [n];
    });
    return addrs.length === 0 ? '-' : addrs.map((a) => addressAtomOf(a)?.id).join(',');
  });
  return `${nameSignature(patterns, [name])}|${where.join(';')}`;
}

/** A name standing for its class, and how reports label it. */
interface NameCandidate {
  readonly name: string;
  readonly label: string;
}

/**
 * The name atoms: candidate names grouped by their class key (what every pattern answers and
 * what every host resolves them to), one atom per group.
 */
function buildNameAtoms(
  world: LabWorld,
  patterns: readonly AddrSpec[],
  addressAtomOf: (addr: number) => DestinationAtom | undefined,
  tests: readonly PortTest[],
  views: NameViews,
  worlds: readonly LabWorld[] = [world],
): NameAtomInternal[] {
  const groups = new Map<string, { first: NameCandidate; members: string[] }>();
  for (const c of nameCandidates(world, patterns, views)) {
    const key = nameKey(patterns, views, addressAtomOf, c.name);
    const g = groups.get(key);
    if (g) g.members.push(c.name);
    else groups.set(key, { first: c, members: [c.name] });
  }
  return [...groups].map(([key, g]) => nameAtom(world, worlds, views, tests, key, g.first, g.members));
}

/**
 * Every name some host resolves (host names, zone and hosts: names), then names no host
 * resolves: pattern literals, a fresh name below every zone, one outside every zone. Any name
 * is one of the first, or answers every pattern as one of the second does (the deepest zone it
 * lies in decides) and resolves nowhere: so they cover every name.
 */
function nameCandidates(world: LabWorld, patterns: readonly AddrSpec[], views: NameViews): NameCandidate[] {
  const hostNames = new Set(world.topology.hosts.map((h) => h.name.toLowerCase()));
  const known = new Set([...hostNames, ...views.extraNames]);
  const patternNames = new Set(
    patterns.map((p) =>
      p.pattern.kind === 'name' ? p.pattern.name : p.pattern.kind === 'zone' ? p.pattern.zone : '',
    ),
  );
  const candidates: NameCandidate[] = [
    // (A host with no IPv4 address has no name a SOCKS 4A/5 request could use here.)
    ...world.topology.hosts
      .filter((h) => h.interfaces.some((i) => parseDottedQuad(i.address) !== undefined))
      .map((h) => ({ name: h.name, label: h.name })),
    ...views.extraNames.filter((n) => !hostNames.has(n)).map((n) => ({ name: n, label: n })),
  ];
  const taken = (n: string) => known.has(n.toLowerCase()) || patternNames.has(n);
  for (const p of patterns) {
    if (p.pattern.kind === 'name' && !known.has(p.pattern.name.toLowerCase()))
      candidates.push({ name: p.pattern.name, label: p.pattern.name });
    if (p.pattern.kind === 'zone') {
      if (!known.has(p.pattern.zone.toLowerCase()))
        candidates.push({ name: p.pattern.zone, label: p.pattern.zone });
      candidates.push({ name: freshLabel(taken, p.pattern.zone), label: `other name in .${p.pattern.zone}` });
    }
  }
  candidates.push({ name: freshLabel(taken, 'invalid'), label: 'other unresolvable name' });
  return candidates;
}

/** One name atom: the hosts its names lead to (in any world) and the ports they listen on. */
function nameAtom(
  world: LabWorld,
  worlds: readonly LabWorld[],
  views: NameViews,
  tests: readonly PortTest[],
  key: string,
  first: NameCandidate,
  members: readonly string[],
): NameAtomInternal {
  const addresses = [...new Set(members.flatMap((m) => views.forward(m).flat()))].filter(
    (a) => parseDottedQuad(a) !== undefined,
  );
  const owners = [
    ...new Set(addresses.flatMap((a) => worlds.flatMap((w) => (w.owner(a) ? [w.owner(a)!.host.name] : [])))),
  ];
  // The ports its hosts listen on, wherever the name leads (other hosts at other hops, too).
  const listening = [
    ...new Set(
      owners.flatMap((o) => {
        const host = world.host(o);
        return host ? listeningUnion(worlds, host) : [];
      }),
    ),
  ].sort((a, b) => a - b);
  const label =
    addresses.length > 0
      ? members.length === 1
        ? first.label
        : `${members.length} names like ${first.label}`
      : `${first.label} (unresolved)`;
  return {
    key,
    atom: {
      id: `name:${first.name}`,
      kind: 'name',
      label,
      witness: first.name,
      hosts: owners,
      members,
      live: owners.length > 0,
      ports: portAtomsFor(tests, listening),
    },
  };
}

/** A user list with the reader it is matched with on its host. */
interface ListUse {
  readonly list: UserList;
  readonly read: UserFileReader;
}

function listsOf(config: ServerConfig | ClientConfig | undefined, read: UserFileReader): ListUse[] {
  return (config?.rules ?? []).flatMap((r) => (r.users ? [{ list: r.users, read }] : []));
}

function listNames(uses: readonly ListUse[]): string[] {
  const names: string[] = [];
  for (const { list, read } of uses)
    for (const e of list.elements) {
      if (e.kind === 'name') names.push(e.name);
      else {
        const f = read(e.path);
        if (f.ok) names.push(...f.names);
      }
    }
  return names;
}

/** The server host a socks.conf entry names, as the d.7 loop would reach it in the lab. */
function entryHost(world: LabWorld, entry: string): HostModel | undefined {
  const n = inetAton(entry);
  const host = n !== undefined ? world.owner(dotted(n))?.host : world.host(entry);
  return host?.server ? host : undefined;
}

/** Servers reachable from an origin through socks.conf server lists, transitively. */
function serverClosure(world: LabWorld, origin: HostModel): HostModel[] {
  const seen = new Map<string, HostModel>();
  const queue: HostModel[] = [];
  const add = (entries: readonly string[]) => {
    for (const e of entries) {
      const h = entryHost(world, e);
      if (h && !seen.has(h.name)) {
        seen.set(h.name, h);
        queue.push(h);
      }
    }
  };
  const entriesOf = (c: ClientConfig | null, fallback?: string) =>
    (c?.rules ?? []).flatMap((r) =>
      r.action !== 'sockd'
        ? []
        : (r.servers?.entries.length ?? 0) > 0
          ? r.servers!.entries
          : fallback !== undefined
            ? [fallback]
            : [],
    );
  add(entriesOf(world.probeConfig(origin.name)));
  while (queue.length > 0) {
    const h = queue.shift()!;
    if (h.server?.kind === 'rsockd') add(entriesOf(world.clientConfig(h.name), h.server.defaultServer));
  }
  return [...seen.values()];
}

interface UserSignatures {
  readonly owner: (name: string) => string;
  readonly claim: (name: string) => string;
}

function signatures(world: LabWorld, origin: HostModel, servers: readonly HostModel[]): UserSignatures {
  const ownerLists = listsOf(world.probeConfig(origin.name) ?? undefined, world.userFiles(undefined));
  const claimLists = servers.flatMap((h) => [
    ...listsOf(world.serverConfig(h.name), world.userFiles(h.server)),
    ...(h.server?.kind === 'rsockd'
      ? listsOf(world.clientConfig(h.name) ?? undefined, world.userFiles(h.server))
      : []),
  ]);
  const constants = equalityConstants(world);
  const sig = (uses: readonly ListUse[], name: string) =>
    uses.map((u) => (usersMatch(u.list, name, u.read).matched ? 1 : 0)).join('');
  return {
    owner: (name) => sig(ownerLists, name),
    claim: (name) => `${sig(claimLists, name)}|${constants.map((c) => (c === name ? 1 : 0)).join('')}`,
  };
}

/** Names the engine compares a claim with besides lists: server owners (a later hop's identd answer) and lying identd answers. */
function equalityConstants(world: LabWorld): string[] {
  const names = new Set<string>();
  for (const h of world.topology.hosts) {
    if (h.server) names.add(h.server.owner);
    const b = world.identdOf(h.name);
    if (b?.kind === 'lying') names.add(b.user);
  }
  return [...names].sort();
}

/** Signatures under every world (joint refinement): names alike in all of them are alike. */
function jointSignatures(worlds: readonly LabWorld[], origin: HostModel): UserSignatures {
  const each = worlds.flatMap((w) => {
    const o = w.host(origin.name);
    return o ? [signatures(w, o, serverClosure(w, o))] : [];
  });
  if (each.length === 1) return each[0]!;
  return {
    owner: (name) => each.map((s) => s.owner(name)).join('/'),
    claim: (name) => each.map((s) => s.claim(name)).join('/'),
  };
}

function literalNames(world: LabWorld): string[] {
  const names = new Set<string>(equalityConstants(world));
  for (const set of configSets(world)) {
    for (const u of set.host.users) names.add(u.name);
    const read = world.userFiles(set.host.server);
    for (const n of listNames([
      ...listsOf(set.server, read),
      ...listsOf(set.client, read),
      ...listsOf(set.probe, world.userFiles(undefined)),
    ]))
      names.add(n);
  }
  return [...names].sort();
}

function freshUsers(literals: readonly string[]): [string, string] {
  const taken = new Set(literals);
  const fresh: string[] = [];
  for (let i = 0; fresh.length < 2; i++) {
    const n = i === 0 ? 'other' : `other${i}`;
    if (!taken.has(n)) fresh.push(n);
  }
  return [fresh[0]!, fresh[1]!];
}

function namesLabel(names: readonly string[]): string {
  const shown = names.filter((n) => n !== AnyOtherUser);
  const other = names.includes(AnyOtherUser);
  const list = shown.length > 3 ? `${shown.slice(0, 3).join(',')},…(${shown.length})` : shown.join(',');
  return other ? (list ? `${list},any other` : 'any other') : list;
}

interface OriginInternal {
  readonly space: OriginSpace;
  readonly sig: UserSignatures;
  readonly honest: Map<string, UserAtom>;
  readonly forged: Map<string, UserAtom>;
  readonly socks5: Map<string, UserAtom>;
}

/**
 * An origin's user atoms: honest users (owner = claim), forged claims (an owner group claiming a
 * claim group's name) and SOCKS 5 owners (no USERID), each grouped by what the lists answer.
 */
function buildOrigin(
  world: LabWorld,
  members: readonly HostModel[],
  literals: readonly string[],
  worlds: readonly LabWorld[] = [world],
): OriginInternal {
  const origin = members[0]!;
  const servers = serverClosure(world, origin);
  const sig = jointSignatures(worlds, origin);
  const hostUsers = origin.users.map((u) => u.name);
  const owners = ownerGroups(hostUsers, sig);
  const honest = honestUsers(hostUsers, sig);
  const forged = forgedUsers(owners, claimGroups(literals, sig));
  const socks5 = new Map<string, UserAtom>();
  for (const [ok, group] of owners.groups)
    socks5.set(ok, {
      id: owners.id(group),
      kind: 'socks5',
      owner: group[0]!,
      owners: group,
      claims: [],
      label: `${owners.text(group)} (no USERID)`,
    });
  return {
    space: {
      origin: origin.name,
      members: members.map((m) => m.name),
      label: members.length === 1 ? origin.name : `${origin.name} (+${members.length - 1} alike)`,
      users: [...honest.values(), ...forged.values()],
      users5: [...socks5.values()],
      servers: servers.map((s) => s.name),
    },
    sig,
    honest,
    forged,
    socks5,
  };
}

/** Honest: owner = claim, grouped by both signatures. */
function honestUsers(hostUsers: readonly string[], sig: UserSignatures): Map<string, UserAtom> {
  const groups = new Map<string, string[]>();
  for (const u of hostUsers) {
    const k = `${sig.owner(u)}#${sig.claim(u)}`;
    groups.set(k, [...(groups.get(k) ?? []), u]);
  }
  const honest = new Map<string, UserAtom>();
  for (const [k, owners] of groups)
    honest.set(k, {
      id: owners[0]!,
      kind: 'honest',
      owner: owners[0]!,
      owners,
      claims: owners,
      label: namesLabel(owners),
    });
  return honest;
}

/** The origin's users grouped by owner signature, and how an owner group is named (`*`/`any user`: all of them). */
interface OwnerGroups {
  readonly groups: Map<string, string[]>;
  readonly id: (owners: readonly string[]) => string;
  readonly text: (owners: readonly string[]) => string;
}

function ownerGroups(hostUsers: readonly string[], sig: UserSignatures): OwnerGroups {
  const groups = new Map<string, string[]>();
  for (const u of hostUsers) groups.set(sig.owner(u), [...(groups.get(sig.owner(u)) ?? []), u]);
  const all = (owners: readonly string[]) => owners.length === hostUsers.length;
  return {
    groups,
    id: (owners) => (all(owners) ? '*' : owners[0]!),
    text: (owners) => (all(owners) ? 'any user' : namesLabel(owners)),
  };
}

/** Claimable names grouped by claim signature; two fresh names stand for every name written nowhere. */
function claimGroups(
  literals: readonly string[],
  sig: UserSignatures,
): Map<string, { names: string[]; fresh: string[] }> {
  const [other, other2] = freshUsers(literals);
  const groups = new Map<string, { names: string[]; fresh: string[] }>();
  for (const n of [...literals, other, other2]) {
    const k = sig.claim(n);
    const g = groups.get(k) ?? { names: [], fresh: [] };
    if (n === other || n === other2) g.fresh.push(n);
    else g.names.push(n);
    groups.set(k, g);
  }
  return groups;
}

/** Forged: owner group (owner signature) × claim group (claim signature), owner ≠ claim. */
function forgedUsers(
  owners: OwnerGroups,
  claimGroups: ReadonlyMap<string, { names: string[]; fresh: string[] }>,
): Map<string, UserAtom> {
  const forged = new Map<string, UserAtom>();
  for (const [ok, group] of owners.groups)
    for (const [ck, claims] of claimGroups) {
      const pair = forgedPair(group, [...claims.names, ...claims.fresh]);
      if (!pair) continue;
      const claimNames = [...claims.names, ...(claims.fresh.length > 0 ? [AnyOtherUser] : [])];
      forged.set(`${ok}#${ck}`, {
        id: `${owners.id(group)}>${claims.fresh.length > 0 ? AnyOtherUser : claims.names[0]!}`,
        kind: 'forged',
        owner: pair[0],
        claim: pair[1],
        owners: group,
        claims: claimNames,
        label: `${owners.text(group)} claiming ${namesLabel(claimNames)}`,
      });
    }
  return forged;
}

/** The first (owner, claim) pair of different names; none when both sides are one same name. */
function forgedPair(owners: readonly string[], candidates: readonly string[]): [string, string] | undefined {
  for (const u of owners) {
    const v = candidates.find((n) => n !== u);
    if (v !== undefined) return [u, v];
  }
  return undefined;
}

/**
 * What an origin host is to every config line: its networks with the answers of every source
 * field (addresses and names) for its address there, its users, its identd, its own socks.conf
 * and whether it runs. Hosts with one key are one origin (a LAN of identical workstations).
 */
function originKey(
  world: LabWorld,
  host: HostModel,
  srcSpecs: readonly AddrSpec[],
  views: NameViews = nameViews([world]),
): string {
  // Each server looks the client's address up with its own name service (split DNS): the answers
  // of every source field under every host's reverse names.
  const ifaces = host.interfaces.map((i) => {
    const n = parseDottedQuad(i.address);
    const answers = views.reverse(i.address).map((names) => {
      const id = identityOfNames(names, n === undefined ? [] : [n]);
      return srcSpecs.map((s) => (hostMatches(id, s) ? 1 : 0)).join('');
    });
    return `${i.network}:${answers.join('/')}`;
  });
  return JSON.stringify([
    host.server ? `server ${host.name}` : host.role,
    ifaces,
    host.users.map((u) => u.name).sort(),
    world.identdOf(host.name) ?? null,
    // What the origin itself resolves (its SOCKS 4 client and its socks.conf decide by it).
    world.namesOf(host.name).map((e) => `${e.name.toLowerCase()}=${e.addresses.join(',')}`),
    (world.probeConfig(host.name)?.rules ?? []).map((r) => `${r.line}:${r.source}`),
    world.running(host.name),
  ]);
}

/** Origins alike in every world (`joint`: a host is one origin only if each world says so). */
function originGroups(worlds: readonly LabWorld[], hosts: readonly HostModel[]): HostModel[][] {
  const srcSpecs = worlds.map((world) =>
    world.topology.hosts.flatMap((h) => (world.serverConfig(h.name)?.rules ?? []).map((r) => r.src)),
  );
  const groups = new Map<string, HostModel[]>();
  for (const h of hosts) {
    const k = worlds
      .map((w, i) => {
        const in_ = w.host(h.name);
        return in_ ? originKey(w, in_, srcSpecs[i]!) : '-';
      })
      .join('|');
    groups.set(k, [...(groups.get(k) ?? []), h]);
  }
  return [...groups.values()];
}

/** Hosts that send requests: clients, and any host with a socks.conf for its own programs. */
function defaultOrigins(world: LabWorld): HostModel[] {
  return world.topology.hosts.filter((h) => h.role === 'client' || world.probeConfig(h.name) !== null);
}

/** An origin named on the command line (`--from`) that is no host of the topology. */
export class UnknownOriginError extends InputError {
  constructor(
    readonly origin: string,
    hosts: readonly string[],
  ) {
    super('E_CLASS_ORIGIN', `unknown origin host \`${origin}\`; hosts: ${hosts.join(', ')}`);
  }
}

/**
 * The class space of a world: its atoms per dimension and how many classes their product has.
 * Build once per world state; `classes()` enumerates lazily, `classOf` maps a request back.
 */
export class ClassSpace {
  readonly topology: string;
  readonly origins: readonly OriginSpace[];
  readonly addresses: readonly DestinationAtom[];
  readonly names: readonly DestinationAtom[];
  /** Every distinct USERID literal the configs and topology name (claims range over these and `*`). */
  readonly users: readonly string[];
  readonly count: number;
  /** What was folded or grouped, in words for reports. */
  readonly notes: readonly string[];
  private readonly internals: readonly OriginInternal[];
  private readonly addressInternals: readonly AddressAtomInternal[];
  private readonly nameInternals: readonly NameAtomInternal[];
  private readonly patterns: readonly AddrSpec[];
  private readonly views: NameViews;

  constructor(
    private readonly world: LabWorld,
    options: ClassOptions = {},
  ) {
    this.topology = world.topology.name;
    const worlds = [world, ...(options.joint ?? [])];
    const specs = worlds.flatMap(allDstSpecs);
    const tests = worlds.flatMap(allPortTests);
    const views = nameViews(worlds);
    this.views = views;
    const { atoms, patterns } = buildAddressAtoms(world, specs, tests, worlds, views);
    this.patterns = patterns;
    this.addressInternals = atoms;
    this.addresses = atoms.map((a) => a.atom);
    const addressAtomOf = (addr: number) =>
      this.addressInternals.find((a) => a.regions.some((r) => regionHas(r, addr)))?.atom;
    this.nameInternals = buildNameAtoms(world, patterns, addressAtomOf, tests, views, worlds);
    this.names = this.nameInternals.map((n) => n.atom);
    this.users = [...new Set(worlds.flatMap(literalNames))].sort();
    let origins: HostModel[];
    if (options.origins) {
      origins = options.origins.map((o) => {
        const h = world.host(o);
        if (!h)
          throw new UnknownOriginError(
            o,
            world.topology.hosts.map((x) => x.name),
          );
        return h;
      });
    } else origins = defaultOrigins(world);
    this.internals = originGroups(worlds, origins).map((g) => buildOrigin(world, g, this.users, worlds));
    this.origins = this.internals.map((i) => i.space);
    const ports = (atoms: readonly DestinationAtom[]) => atoms.reduce((n, a) => n + a.ports.length, 0);
    const addressPorts = ports(this.addresses);
    const namePorts = ports(this.names);
    this.count = this.origins.reduce(
      (n, o) =>
        n + o.users.length * (addressPorts + namePorts) + o.users5.length * (addressPorts + namePorts),
      0,
    );
    this.notes = [
      'SOCKS 4A with a numeric destination is decided exactly as SOCKS 4: counted under socks4.',
      'forged claims are grouped by (owner signature, claim signature): identd on the origin never confirms them.',
      'SOCKS 5 requests carry no USERID (no RFC 1929 credentials): only the owner splits them.',
      ...(this.addresses.some((a) => a.hosts.length > 1)
        ? ['hosts alike (same rules, network, ports) share an address atom; the witness is the first.']
        : []),
    ];
  }

  /** Every class, origin by origin, protocol by protocol. */
  *classes(): Generator<RequestClass> {
    for (const o of this.origins) {
      for (const user of o.users) {
        for (const d of this.addresses) yield* this.withPorts(o.origin, 'socks4', user, d);
        for (const d of this.names) yield* this.withPorts(o.origin, 'socks4a', user, d);
      }
      for (const user of o.users5)
        for (const d of [...this.addresses, ...this.names])
          yield* this.withPorts(o.origin, 'socks5', user, d);
    }
  }

  private *withPorts(
    origin: string,
    protocol: ClassProtocol,
    user: UserAtom,
    destination: DestinationAtom,
  ): Generator<RequestClass> {
    for (const port of destination.ports) yield makeClass(origin, protocol, user, destination, port);
  }

  /**
   * The class a request of the space falls in; undefined outside the space (BIND, SOCKS 5
   * credentials, an explicit `via`, an owner who is no user of the origin, an origin not
   * enumerated, or a SOCKS 4 destination that is a name no host has).
   */
  classOf(request: ProbeRequest): RequestClass | undefined {
    const o = this.internals.find((i) => i.space.members.includes(request.from));
    if (!o || request.command !== 'connect' || request.credentials || (request.via && !request.useSocksConf))
      return undefined;
    const origin = this.world.host(request.from)!;
    if (!origin.users.some((u) => u.name === request.user)) return undefined;
    const target = request.target.host;
    const byName = request.protocol !== 'socks4' && !isDottedQuadShape(target);
    let destination: DestinationAtom | undefined;
    if (byName) destination = this.nameAtomOf(target);
    else {
      destination = this.addressAtomOf(
        addressFrom(this.world.topology.hosts, request.from, target, this.world.namesOf(request.from)),
      );
    }
    if (!destination) return undefined;
    const port = destination.ports.find((p) =>
      portRegionHas(
        { intervals: p.intervals, witness: p.witness, listening: p.listening },
        request.target.port,
      ),
    );
    if (!port) return undefined;
    const protocol: ClassProtocol = request.protocol === 'socks4a' && !byName ? 'socks4' : request.protocol;
    const owner = request.user;
    let user: UserAtom | undefined;
    if (protocol === 'socks5') user = o.socks5.get(o.sig.owner(owner));
    else {
      const claim = request.claim ?? owner;
      user =
        claim === owner
          ? o.honest.get(`${o.sig.owner(owner)}#${o.sig.claim(owner)}`)
          : o.forged.get(`${o.sig.owner(owner)}#${o.sig.claim(claim)}`);
    }
    return user ? makeClass(o.space.origin, protocol, user, destination, port) : undefined;
  }

  /** The address atom holding a dotted IPv4 address. */
  addressAtomOf(address: string): DestinationAtom | undefined {
    const n = parseDottedQuad(address);
    return n === undefined
      ? undefined
      : this.addressInternals.find((a) => a.regions.some((r) => regionHas(r, n)))?.atom;
  }

  /** The name atom a DNS-style name (SOCKS 4A/5) falls in. */
  nameAtomOf(name: string): DestinationAtom | undefined {
    const key = nameKey(this.patterns, this.views, (a) => this.addressAtomOf(dottedOf(a)), name);
    return this.nameInternals.find((n) => n.key === key)?.atom;
  }
}

function makeClass(
  origin: string,
  protocol: ClassProtocol,
  user: UserAtom,
  destination: DestinationAtom,
  port: PortAtom,
): RequestClass {
  return {
    id: `${origin}|${protocol}|${user.id}|${destination.id}|${port.id}`,
    origin,
    protocol,
    user,
    destination,
    port,
    witness: {
      from: origin,
      user: user.owner,
      ...(user.claim !== undefined ? { claim: user.claim } : {}),
      protocol,
      command: 'connect',
      target: { host: destination.witness, port: port.witness },
      useSocksConf: true,
    },
  };
}

/** The class space of a world (see the module comment for the construction). */
export function requestClasses(world: LabWorld, options: ClassOptions = {}): ClassSpace {
  return new ClassSpace(world, options);
}
