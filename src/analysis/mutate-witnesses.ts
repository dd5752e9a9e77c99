import { parseDottedQuad } from '../common/inet-address.ts';
import type { AddrSpec, AnyConfig } from '../config/ast.ts';
import { dumpConfig } from '../config/dump.ts';
import { type HostIdentity, hostMatches } from '../policy/host.ts';
import type { ProbeRequest } from '../runtime/runtime.ts';
import { addressFrom } from '../topology/host-table.ts';
import type { HostModel } from '../topology/model.ts';
import { hostNamesOf } from '../topology/names.ts';
import type { ParsedHostConfigs } from '../topology/resolve.ts';
import { type RequestClass, requestClasses } from './classes.ts';
import type { Design, Mutant } from './mutants.ts';
import { type WitnessSource, witnessKey } from './mutate.ts';
import type { Witness } from './witness-case.ts';
import { LabWorld } from './world.ts';

/**
 * Witness requests for `sockslab mutate`: one per request class (classes.ts). The classes must
 * be exact for the design AND the mutant, so a mutant that brings a new atom (a mask bit, a port
 * bound, a shorter user list, a new upstream) is classed over both: the mutated file then holds
 * its original rules and the mutated ones side by side, which is only ever read for atoms.
 */

/** Operators whose mutants can bring atoms the design does not have. */
function addsAtoms(mutant: Mutant): boolean {
  switch (mutant.operator) {
    case 'mask-widen':
    case 'mask-narrow':
    case 'port-op':
    case 'drop-user':
      return true;
    case 'action':
      // direct → sockd may lead an origin to servers (and their user lists) it never reached.
      return mutant.slot !== 'server';
    default:
      return false;
  }
}

function bothRuleSets(original: AnyConfig, mutated: AnyConfig): AnyConfig {
  if (original.kind === 'sockd.route' && mutated.kind === 'sockd.route')
    return { ...original, routes: [...original.routes, ...mutated.routes] };
  if (original.kind === 'socks.conf' && mutated.kind === 'socks.conf')
    return { ...original, rules: [...original.rules, ...mutated.rules] };
  if (original.kind === 'sockd.conf' && mutated.kind === 'sockd.conf')
    return { ...original, rules: [...original.rules, ...mutated.rules] };
  return original;
}

function atomsOfBoth(design: Design, mutant: Mutant): Map<string, ParsedHostConfigs> {
  const configs = new Map(design.configs);
  const host = configs.get(mutant.host) ?? {};
  const original = host[mutant.slot];
  if (original) configs.set(mutant.host, { ...host, [mutant.slot]: bothRuleSets(original, mutant.config) });
  return configs;
}

function describe(c: RequestClass, request: ProbeRequest): string {
  const who = c.user.claim !== undefined ? `${c.user.owner} claiming ${c.user.claim}` : c.user.owner;
  const what = c.destination.hosts.length === 0 ? ` (${c.destination.label})` : '';
  const protocol = c.protocol === 'socks4' ? '' : ` ${c.protocol}`;
  return `${c.origin} ${who} → ${request.target.host}:${request.target.port}${what}${protocol}`;
}

/** A SOCKS 4 witness to a host's address names the host, as cases do, when that names the same address. */
function byName(design: Design, c: RequestClass): ProbeRequest {
  const host = c.destination.hosts.length === 1 ? c.destination.hosts[0] : undefined;
  if (c.protocol !== 'socks4' || host === undefined) return c.witness;
  // The origin's own names first (split DNS): the host name must lead where the witness goes.
  const own = hostNamesOf(design.topology, c.origin);
  if (addressFrom(design.topology.hosts, c.origin, host, own) !== c.destination.witness) return c.witness;
  return { ...c.witness, target: { ...c.witness.target, host } };
}

/** Hosts that send requests, as classes.ts counts them: clients and hosts with a socks.conf of their own. */
function senders(world: LabWorld): HostModel[] {
  return world.topology.hosts.filter((h) => h.role === 'client' || world.probeConfig(h.name) !== null);
}

/**
 * What every decision can know of an origin: its users, identd, own socks.conf, networks, and
 * which source fields of every sockd.conf its addresses match. Origins alike in all of this get
 * the same answers to the same requests (up to their names), so one stands for all: a mutant
 * that one of them tells apart, each of them does.
 */
function originKey(world: LabWorld, h: HostModel, sources: readonly AddrSpec[]): string {
  const probe = world.probeConfig(h.name);
  const seen = h.interfaces.map((i) => {
    const n = parseDottedQuad(i.address);
    const id: HostIdentity = {
      names: [h.name],
      addresses: n === undefined ? [] : [n],
      display: h.name,
      dotted: i.address,
    };
    return `${i.network}:${sources.map((s) => (hostMatches(id, s) ? 1 : 0)).join('')}`;
  });
  return JSON.stringify([
    h.role,
    h.server ? h.name : null,
    h.users.map((u) => u.name),
    world.identdOf(h.name) ?? null,
    h.identd?.port ?? null,
    world.running(h.name),
    (h.echo ?? []).map((e) => e.port),
    probe ? dumpConfig(probe) : null,
    seen,
  ]);
}

/** One origin for each group of alike senders (the mutated host always stands alone). */
function representatives(world: LabWorld, mutant: Mutant): string[] {
  const sources = world.topology.hosts.flatMap((h) =>
    (world.serverConfig(h.name)?.rules ?? []).map((r) => r.src),
  );
  const seen = new Map<string, string>();
  for (const h of senders(world)) {
    const key = h.name === mutant.host ? `mutated:${h.name}` : originKey(world, h, sources);
    if (!seen.has(key)) seen.set(key, h.name);
  }
  return [...seen.values()];
}

function classWitnesses(design: Design, world: LabWorld, origins: readonly string[]): Witness[] {
  const space = requestClasses(world, { origins });
  const roles = new Map(design.topology.hosts.map((h) => [h.name, h.role]));
  const ranked: { w: Witness; rank: number }[] = [];
  for (const c of space.classes()) {
    // Honest requests first (a scenario file and the live probe send them as they are), then
    // destinations a live run reaches, ports somebody listens on, echo hosts: witnesses that
    // read like the cases people write.
    const echo = c.destination.hosts.some((h) => roles.get(h) === 'echo');
    const rank =
      (c.user.kind === 'forged' ? 8 : 0) +
      (c.destination.live ? 0 : 4) +
      (c.port.listening ? 0 : 2) +
      (echo ? 0 : 1);
    const request = byName(design, c);
    ranked.push({ w: { request, steps: [], cleanup: [], label: describe(c, request) }, rank });
  }
  return ranked.sort((a, b) => a.rank - b.rank).map((x) => x.w);
}

/**
 * sockd.route is read only for BIND (b.5): its mutants are held against each class witness
 * turned into a BIND whose peer is the destination host.
 */
function asBind(world: LabWorld, w: Witness): Witness {
  const owner = world.owner(w.request.target.host)?.host.name ?? world.host(w.request.target.host)?.name;
  return {
    ...w,
    request: { ...w.request, command: 'bind', ...(owner ? { bindPeer: { from: owner } } : {}) },
    label: `${w.label} BIND`,
  };
}

/**
 * A WitnessSource over request classes, restricted to the origins whose requests can meet the
 * mutated host (an origin's own socks.conf: that origin; a server: the alike-grouped senders
 * that reach it through socks.conf server lists). Spaces are cached per world and origins.
 */
export function classWitnessSource(): WitnessSource {
  const cache = new Map<string, Witness[]>();
  let reach: { design: Design; servers: Map<string, readonly string[]> } | undefined;
  const witnessesOf = (design: Design, world: LabWorld, mutant: Mutant, key: string | undefined) => {
    const origins =
      mutant.slot === 'probeClient'
        ? [mutant.host]
        : representatives(world, mutant).filter(
            (o) => o === mutant.host || (reach?.servers.get(o) ?? []).includes(mutant.host),
          );
    const full =
      key === undefined
        ? undefined
        : `${key}|${mutant.slot === 'route' ? 'bind' : 'connect'}|${origins.join(',')}`;
    let witnesses = full === undefined ? undefined : cache.get(full);
    if (!witnesses) {
      const connect = classWitnesses(design, world, origins);
      witnesses = mutant.slot === 'route' ? connect.map((w) => asBind(world, w)) : connect;
      if (full !== undefined) cache.set(full, witnesses);
    }
    return witnesses;
  };
  return function* (design, mutant) {
    if (reach?.design !== design) {
      const space = requestClasses(new LabWorld(design.topology, design.configs));
      reach = { design, servers: new Map(space.origins.map((o) => [o.origin, o.servers])) };
      cache.clear();
    }
    // The design's own classes first (built once, predicted once); they tell most mutants apart.
    const own = witnessesOf(design, new LabWorld(design.topology, design.configs), mutant, 'design');
    yield* own;
    if (!addsAtoms(mutant)) return;
    // Only then the classes over the mutant's atoms too, which the equivalence proof needs.
    const seen = new Set(own.map(witnessKey));
    const world = new LabWorld(design.topology, atomsOfBoth(design, mutant));
    for (const w of witnessesOf(design, world, mutant, undefined)) if (!seen.has(witnessKey(w))) yield w;
  };
}
