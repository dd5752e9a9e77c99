import fc from 'fast-check';
import type { ClassSpace, RequestClass } from '../../src/analysis/classes.ts';
import type { LabWorld } from '../../src/analysis/world.ts';
import { dottedOf } from '../../src/common/inet-address.ts';
import type { ProbeRequest } from '../../src/runtime/runtime.ts';

/**
 * Random requests for the request-class property tests (unit and live): any request of a class
 * space biased to where classes meet, and random members of a given class.
 */

/** Ports worth hitting: every listening port and every port a test names, with their neighbours. */
export function interestingPorts(world: LabWorld): number[] {
  const ports = new Set<number>([0, 1, 65535]);
  for (const h of world.topology.hosts) {
    for (const p of [h.server?.port, h.identd?.port, ...(h.echo ?? []).map((e) => e.port)])
      if (p !== undefined) for (const x of [p - 1, p, p + 1]) ports.add(x);
    const rules = [
      ...(world.serverConfig(h.name)?.rules ?? []),
      ...(world.clientConfig(h.name)?.rules ?? []),
      ...(world.probeConfig(h.name)?.rules ?? []),
    ];
    for (const r of rules)
      if (r.port) for (const x of [r.port.port - 1, r.port.port, r.port.port + 1]) ports.add(x);
  }
  return [...ports].filter((p) => p >= 0 && p <= 65535);
}

/**
 * A random request of the space, biased to where classes meet: host addresses and names, their
 * neighbours, ports at every boundary; owners are the origin's users, claims mostly honest.
 */
export function requestArbitrary(space: ClassSpace, world: LabWorld): fc.Arbitrary<ProbeRequest> {
  const origins = space.origins.flatMap((o) => o.members.map((m) => world.host(m)!));
  const hostAddresses = world.topology.hosts.flatMap((h) => h.interfaces.map((i) => i.address));
  const hostNames = world.topology.hosts.map((h) => h.name);
  const zoneNames = space.names.filter((n) => !n.live).map((n) => n.witness);
  // Split DNS: names zones and hosts: entries give (resolved at some hosts only), and their addresses.
  const entries = [
    ...world.topology.networks.flatMap((n) => n.names ?? []),
    ...world.topology.hosts.flatMap((h) => h.names ?? []),
  ];
  const splitNames = entries.map((e) => e.name);
  const splitAddresses = entries.flatMap((e) => e.addresses);
  const address = fc.oneof(
    { arbitrary: fc.constantFrom(...hostAddresses, ...splitAddresses), weight: 4 },
    { arbitrary: fc.constantFrom('0.0.0.0', '127.0.0.1'), weight: 1 },
    { arbitrary: fc.integer({ min: 0, max: 0xffffffff }).map((n) => dottedOf(n >>> 0)), weight: 1 },
    {
      // Near a host: the same /24.
      arbitrary: fc
        .tuple(fc.constantFrom(...hostAddresses), fc.integer({ min: 0, max: 255 }))
        .map(([a, last]) => a.replace(/\.\d+$/, `.${last}`)),
      weight: 2,
    },
  );
  const name = fc.oneof(
    { arbitrary: fc.constantFrom(...hostNames, ...splitNames), weight: 3 },
    { arbitrary: fc.constantFrom(...(splitNames.length > 0 ? splitNames : hostNames)), weight: 2 },
    { arbitrary: fc.constantFrom(...zoneNames), weight: 1 },
    {
      arbitrary: fc
        .tuple(fc.stringMatching(/^[a-z]{1,6}$/), fc.constantFrom(...zoneNames, ...hostNames, ...splitNames))
        .map(([l, z]) => `${l}.${z}`),
      weight: 1,
    },
  );
  const portArb = fc.oneof(
    { arbitrary: fc.constantFrom(...interestingPorts(world)), weight: 4 },
    { arbitrary: fc.integer({ min: 0, max: 65535 }), weight: 1 },
  );
  const claimArb = fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 3 },
    { arbitrary: fc.constantFrom(...space.users), weight: 2 },
    { arbitrary: fc.stringMatching(/^[a-z]{1,8}$/), weight: 1 },
  );
  return fc.constantFrom(...origins).chain((origin) =>
    fc
      .record({
        owner: fc.constantFrom(...origin.users.map((u) => u.name)),
        claim: claimArb,
        protocol: fc.constantFrom('socks4' as const, 'socks4a' as const, 'socks5' as const),
        byName: fc.boolean(),
        address,
        name,
        port: portArb,
      })
      .map((r) => ({
        from: origin.name,
        user: r.owner,
        ...(r.claim !== undefined && r.protocol !== 'socks5' ? { claim: r.claim } : {}),
        protocol: r.protocol,
        command: 'connect' as const,
        target: { host: r.protocol !== 'socks4' && r.byName ? r.name : r.address, port: r.port },
        useSocksConf: true,
      })),
  );
}

/**
 * A random member of a given class: a port of its port atom (borders and listening ports first),
 * a host of its destination atom, an owner and claim the user atom stands for.
 */
export function memberArbitrary(
  space: ClassSpace,
  world: LabWorld,
  classes: readonly RequestClass[] = [...space.classes()],
) {
  const interesting = interestingPorts(world);
  return fc.constantFrom(...classes).chain((c) => {
    const inAtom = interesting.filter((p) => c.port.intervals.some(([lo, hi]) => lo <= p && p <= hi));
    const port = fc.oneof(
      ...(inAtom.length > 0 ? [fc.constantFrom(...inAtom)] : []),
      fc.constantFrom(...c.port.intervals).chain(([lo, hi]) => fc.integer({ min: lo, max: hi })),
    );
    const origin = world.host(c.origin)!;
    const originNames = space.origins.find((o) => o.origin === c.origin)!.members;
    const owners = c.user.owners.filter((u) => origin.users.some((x) => x.name === u));
    const fresh = fc.stringMatching(/^[a-z]{1,8}$/).filter((n) => !space.users.includes(n));
    const claims = c.user.claims.filter((n) => n !== '*');
    const claim =
      c.user.kind === 'forged'
        ? c.user.claims.includes('*')
          ? fc.oneof(fresh, ...(claims.length ? [fc.constantFrom(...claims)] : []))
          : fc.constantFrom(...claims)
        : fc.constant(undefined);
    const target =
      c.destination.members.length > 0
        ? fc.constantFrom(...c.destination.members)
        : fc.constant(c.destination.witness);
    return fc
      .record({
        from: fc.constantFrom(...originNames),
        owner: fc.constantFrom(...owners),
        claim,
        target,
        port,
      })
      .filter((r) => r.claim === undefined || r.claim !== r.owner)
      .map((r) => ({
        cls: c,
        request: {
          ...c.witness,
          from: r.from,
          user: r.owner,
          ...(r.claim !== undefined ? { claim: r.claim } : {}),
          target: { host: r.target, port: r.port },
        } as ProbeRequest,
      }));
  });
}
