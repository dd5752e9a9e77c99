import test from 'ava';
import fc from 'fast-check';
import { cubeOf, partitionAddresses, partitionPorts, regionHas } from '../../../src/analysis/atoms.ts';
import { type ClassSpace, requestClasses } from '../../../src/analysis/classes.ts';
import { outcomeKey } from '../../../src/analysis/matrix.ts';
import { predictRequest } from '../../../src/analysis/predict.ts';
import { LabWorld } from '../../../src/analysis/world.ts';
import type { PortTest } from '../../../src/config/ast.ts';
import { inetAton } from '../../../src/config/inet.ts';
import { dottedOf } from '../../../src/policy/host.ts';
import type { ProbeRequest } from '../../../src/runtime/runtime.ts';
import { loadTopologyWithConfigs } from '../../../src/topology/load.ts';
import { generatedTopology } from '../../helpers/generated-topology.ts';
import { projectRoot } from '../../helpers/seed-topology.ts';

const References = ['seed-cascade', 'campus', 'failover', 'multihomed-bind'] as const;

async function worldOf(name: string): Promise<LabWorld> {
  const { topology, configs } = await loadTopologyWithConfigs(`${projectRoot}topologies/${name}.yaml`);
  return new LabWorld(topology, configs);
}

const ip = (t: string) => inetAton(t)!;
const pos = { file: 't', line: 1, column: 1 };
const port = (op: PortTest['op'], p: number): PortTest => ({ op, port: p, text: String(p), pos });

test('the address partition gives every address the membership vector of exactly one region', (t) => {
  const cuts = [
    cubeOf(ip('10.0.0.0'), ip('255.0.0.0')),
    cubeOf(ip('10.1.0.0'), ip('255.255.0.0')),
    // Non-contiguous masks are legal in CSTC configs.
    cubeOf(ip('0.0.5.0'), ip('0.0.255.0')),
  ];
  const singles = [ip('10.1.0.7'), 0];
  const regions = partitionAddresses(cuts, singles);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (a) => {
      const holders = regions.filter((r) => regionHas(r, a));
      if (holders.length !== 1) return false;
      const r = holders[0]!;
      if (singles.includes(a)) return r.single === a;
      return r.single === undefined && cuts.every((c, i) => ((a & c.mask) >>> 0 === c.value) === r.inside[i]);
    }),
    { numRuns: 3000 },
  );
  // 10.1.5.x is inside all three cuts; 10.2.5.x only in the first and third.
  t.true(regions.some((r) => r.inside.join() === 'true,true,true'));
  t.is(regions.filter((r) => r.single !== undefined).length, 2);
});

test('ports are cut by every operator and a destination’s listening ports, and merged by their answers', (t) => {
  const atoms = partitionPorts([port('eq', 7), port('lt', 1024), port('neq', 80)], [7, 8080]);
  const labels = atoms.map((a) => a.intervals.map(([lo, hi]) => `${lo}-${hi}`).join(','));
  t.deepEqual(
    labels.sort(),
    ['0-6,8-79,81-1023', '1024-8079,8081-65535', '7-7', '80-80', '8080-8080'].sort(),
  );
  t.true(atoms.find((a) => a.witness === 7)!.listening);
  t.is(atoms.find((a) => a.intervals.length === 3)!.witness, 1, 'port 0 is avoided as a witness');
});

test('seed-cascade: the atoms are the ones its configs and hosts make', async (t) => {
  const space = requestClasses(await worldOf('seed-cascade'));
  t.deepEqual(
    space.addresses.map((a) => a.label),
    [
      'other in 10.2.0.0/24',
      'other in 198.51.100.0/24',
      'other addresses',
      '0.0.0.0 (unspecified)',
      '127.0.0.1 (loopback)',
      'B 10.1.0.1',
      'C 10.1.0.10',
      'A 10.2.0.1',
      'B 10.2.0.2',
      'A 198.51.100.1',
      'z 198.51.100.10',
    ],
  );
  t.deepEqual(
    space.names.map((n) => n.witness),
    ['C', 'B', 'A', 'z', 'unlisted.invalid'],
  );
  const c = space.origins.find((o) => o.origin === 'C')!;
  t.deepEqual(c.servers, ['B', 'A']);
  t.deepEqual(
    c.users.map((u) => u.id),
    ['x', 'root', 'nobody', '*>nobody', '*>root', '*>x', '*>*'],
  );
  t.deepEqual(
    space.addresses.find((a) => a.witness === '198.51.100.10')!.ports.map((p) => p.label),
    ['not 7/80', '7', '80'],
  );
  t.is(space.count, [...space.classes()].length);
});

for (const name of References) {
  test(`${name}: every class's witness falls back into its own class`, async (t) => {
    const space = requestClasses(await worldOf(name));
    t.true(space.count > 0);
    for (const c of space.classes()) t.is(space.classOf(c.witness)?.id, c.id, c.id);
  });
}

/** Ports worth hitting: every listening port and every port a test names, with their neighbours. */
function interestingPorts(world: LabWorld): number[] {
  const ports = new Set<number>([0, 1, 65535]);
  for (const h of world.topology.hosts) {
    for (const p of [h.server?.port, h.identd?.port, ...(h.echo ?? []).map((e) => e.port)])
      if (p !== undefined) [p - 1, p, p + 1].forEach((x) => ports.add(x));
    const rules = [
      ...(world.serverConfig(h.name)?.rules ?? []),
      ...(world.clientConfig(h.name)?.rules ?? []),
      ...(world.probeConfig(h.name)?.rules ?? []),
    ];
    for (const r of rules)
      if (r.port) [r.port.port - 1, r.port.port, r.port.port + 1].forEach((x) => ports.add(x));
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
  const address = fc.oneof(
    { arbitrary: fc.constantFrom(...hostAddresses), weight: 4 },
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
    { arbitrary: fc.constantFrom(...hostNames), weight: 3 },
    { arbitrary: fc.constantFrom(...zoneNames), weight: 1 },
    {
      arbitrary: fc
        .tuple(fc.stringMatching(/^[a-z]{1,6}$/), fc.constantFrom(...zoneNames, ...hostNames))
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

for (const name of References) {
  test(`${name}: for random requests, the class predicts what predictRequest says`, async (t) => {
    const world = await worldOf(name);
    const space = requestClasses(world);
    await t.notThrowsAsync(
      fc.assert(
        fc.asyncProperty(requestArbitrary(space, world), async (request) => {
          const c = space.classOf(request);
          if (!c) return false;
          const [direct, byClass] = await Promise.all([
            predictRequest(world, request),
            predictRequest(world, c.witness),
          ]);
          return outcomeKey(direct) === outcomeKey(byClass);
        }),
        { numRuns: 300 },
      ),
    );
  });
}

/**
 * A random member of a given class: a port of its port atom (borders and listening ports first),
 * a host of its destination atom, an owner and claim the user atom stands for.
 */
function memberArbitrary(space: ClassSpace, world: LabWorld) {
  const classes = [...space.classes()];
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

for (const name of [...References, 'generated'] as const) {
  test(`${name}: every member of a class falls in it and is decided like its witness`, async (t) => {
    let world: LabWorld;
    if (name === 'generated') {
      const { topology, configs } = await generatedTopology();
      world = new LabWorld(topology, configs);
    } else world = await worldOf(name);
    const space = requestClasses(world);
    await t.notThrowsAsync(
      fc.assert(
        fc.asyncProperty(memberArbitrary(space, world), async ({ cls, request }) => {
          if (space.classOf(request)?.id !== cls.id) return false;
          const [member, witness] = await Promise.all([
            predictRequest(world, request),
            predictRequest(world, cls.witness),
          ]);
          return outcomeKey(member) === outcomeKey(witness);
        }),
        { numRuns: 300 },
      ),
    );
  });
}
