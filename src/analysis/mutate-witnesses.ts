import type { AnyConfig } from '../config/ast.ts';
import type { ProbeRequest } from '../runtime/runtime.ts';
import { addressFrom } from '../topology/host-table.ts';
import type { ParsedHostConfigs } from '../topology/resolve.ts';
import { type RequestClass, requestClasses } from './classes.ts';
import type { Design, Mutant } from './mutants.ts';
import type { WitnessSource } from './mutate.ts';
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
  if (addressFrom(design.topology.hosts, c.origin, host) !== c.destination.witness) return c.witness;
  return { ...c.witness, target: { ...c.witness.target, host } };
}

function classWitnesses(design: Design, configs: ReadonlyMap<string, ParsedHostConfigs>): Witness[] {
  const space = requestClasses(new LabWorld(design.topology, configs));
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

/** A WitnessSource over request classes; the design's own classes are built once. */
export function classWitnessSource(): WitnessSource {
  let own: { design: Design; witnesses: Witness[] } | undefined;
  return (design, mutant) => {
    if (addsAtoms(mutant)) return classWitnesses(design, atomsOfBoth(design, mutant));
    if (own?.design !== design) own = { design, witnesses: classWitnesses(design, design.configs) };
    return own.witnesses;
  };
}
