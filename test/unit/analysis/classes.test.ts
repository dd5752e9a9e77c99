import test from 'ava';
import fc from 'fast-check';
import { cubeOf, partitionAddresses, partitionPorts, regionHas } from '../../../src/analysis/atoms.ts';
import { requestClasses } from '../../../src/analysis/classes.ts';
import { outcomeKey } from '../../../src/analysis/matrix.ts';
import { predictRequest } from '../../../src/analysis/predict.ts';
import { LabWorld } from '../../../src/analysis/world.ts';
import type { PortTest } from '../../../src/config/ast.ts';
import { inetAton } from '../../../src/config/inet.ts';
import { loadTopologyWithConfigs } from '../../../src/topology/load.ts';
import { memberArbitrary, requestArbitrary } from '../../helpers/class-requests.ts';
import { generatedTopology } from '../../helpers/generated-topology.ts';
import { projectRoot } from '../../helpers/seed-topology.ts';

// split-dns: names resolve per host (zones, hosts: entries), so a name's class depends on where.
const References = ['seed-cascade', 'campus', 'failover', 'multihomed-bind', 'split-dns'] as const;

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
