import test from 'ava';
import { configText, generateMutants, type Mutant, mutantTopology } from '../../../src/analysis/mutants.ts';
import { dumpConfig } from '../../../src/config/dump.ts';
import { configParsers } from '../../../src/topology/config-parsers.ts';
import { loadTopologyWithConfigs } from '../../../src/topology/load.ts';
import { projectRoot } from '../../helpers/seed-topology.ts';

const load = (name: string) => loadTopologyWithConfigs(`${projectRoot}topologies/${name}.yaml`);
const seed = load('seed-cascade');

async function mutant(id: string, design = seed): Promise<Mutant> {
  const found = generateMutants(await design).find((m) => m.id === id);
  if (!found) throw new Error(`no mutant ${id}`);
  return found;
}

/** Mutant id → the mutated line as the canonical dump prints it (null: the line is gone). */
const oneLineEdits: [string, string | null][] = [
  ['B sockd.conf:2 action deny', 'deny *=x 10.1.0.0 255.255.255.0 0.0.0.0 0.0.0.0'],
  ['B sockd.conf:3 action permit', 'permit 0.0.0.0 0.0.0.0 0.0.0.0 0.0.0.0'],
  ['B sockd.conf:2 drop-line', null],
  ['B sockd.conf:2 mask-widen src', 'permit ?=I *=x 10.1.0.0 255.255.254.0 0.0.0.0 0.0.0.0'],
  ['B sockd.conf:2 mask-narrow src', 'permit ?=I *=x 10.1.0.0 255.255.255.128 0.0.0.0 0.0.0.0'],
  ['B sockd.conf:3 mask-narrow src', 'deny 0.0.0.0 128.0.0.0 0.0.0.0 0.0.0.0'],
  ['B sockd.conf:2 identd ?=i', 'permit ?=i *=x 10.1.0.0 255.255.255.0 0.0.0.0 0.0.0.0'],
  // No ?= field: A runs -i, so the line's effective mode is lenient and one step weaker is ?=n.
  [
    'A sockd.conf:4 identd ?=n',
    'permit ?=n *=/etc/sockd/dept.users 10.2.0.2 255.255.255.255 198.51.100.0 255.255.255.0 eq 80',
  ],
  ['B sockd.conf:2 drop-user x', 'permit ?=I 10.1.0.0 255.255.255.0 0.0.0.0 0.0.0.0'],
  [
    'A sockd.conf:2 port-op le',
    'permit ?=n *=/etc/sockd/dept.users 10.2.0.2 255.255.255.255 198.51.100.0 255.255.255.0 le 7',
  ],
  // direct → sockd sends the line where the file's first sockd line sends its own traffic.
  ['B socks.conf:2 action sockd', 'sockd @=10.2.0.1 10.2.0.0 255.255.255.0'],
  ['B socks.conf:3 action direct', 'direct 0.0.0.0 0.0.0.0'],
  ['B socks.conf:3 drop-server 10.2.0.1', 'sockd 0.0.0.0 0.0.0.0'],
  ['C socks.conf:1 mask-narrow dst', 'sockd @=10.1.0.1 0.0.0.0 128.0.0.0'],
];

for (const [id, after] of oneLineEdits) {
  test(`mutant \`${id}\` changes one line to ${after === null ? 'nothing' : `\`${after}\``}`, async (t) => {
    const m = await mutant(id);
    t.is(m.diff.length, 1);
    t.is(m.diff[0]!.line, m.line);
    t.is(m.diff[0]!.after, after);
  });
}

test('the diff shows the original line as written beside the mutated rule', async (t) => {
  const m = await mutant('A sockd.conf:5 action permit');
  t.deepEqual(m.diff, [
    { line: 5, before: 'deny 0.0.0.0 0.0.0.0', after: 'permit 0.0.0.0 0.0.0.0 0.0.0.0 0.0.0.0' },
  ]);
});

test('a /32 mask can only widen and a mask of 0 can only narrow', async (t) => {
  const ids = generateMutants(await seed).map((m) => m.id);
  t.true(ids.includes('A sockd.conf:2 mask-widen src'));
  t.false(ids.includes('A sockd.conf:2 mask-narrow src'));
  t.true(ids.includes('A sockd.conf:5 mask-narrow src'));
  t.false(ids.includes('A sockd.conf:5 mask-widen src'));
  // A defaulted destination was never written: nothing to widen or narrow.
  t.false(ids.some((id) => id.startsWith('B sockd.conf:2 mask') && id.endsWith('dst')));
});

test('a rule with ?=n and a deny line have no weaker identd mode', async (t) => {
  const ids = generateMutants(await seed).map((m) => m.id);
  t.false(ids.some((id) => id.startsWith('A sockd.conf:2 identd')));
  t.false(ids.some((id) => id.startsWith('A sockd.conf:5 identd')));
});

test('a port test gets the five other operators', async (t) => {
  const ids = generateMutants(await seed)
    .filter((m) => m.id.startsWith('A sockd.conf:4 port-op'))
    .map((m) => m.detail);
  t.deepEqual(ids, ['neq', 'lt', 'gt', 'le', 'ge']);
});

test('swapping a line with the next keeps numbers to positions and maps each back to its original line', async (t) => {
  const m = await mutant('A sockd.conf:4 swap-next');
  t.is(m.config.kind, 'sockd.conf');
  const rules = m.config.kind === 'sockd.conf' ? m.config.rules : [];
  t.deepEqual(
    rules.map((r) => [r.line, r.action]),
    [
      [2, 'permit'],
      [4, 'deny'],
      [5, 'permit'],
    ],
  );
  t.deepEqual(
    [...m.lineMap],
    [
      [4, 5],
      [5, 4],
    ],
  );
  t.deepEqual(
    m.diff.map((d) => d.line),
    [4, 5],
  );
});

test('an @= list of two servers gives a drop mutant per entry and one reorder', async (t) => {
  const failover = load('failover');
  const ids = generateMutants(await failover)
    .filter((m) => m.operator === 'drop-server' || m.operator === 'reorder-servers')
    .filter((m) => m.slot === 'client')
    .map((m) => [m.operator, m.detail, m.diff[0]!.after]);
  t.deepEqual(ids, [
    ['drop-server', 'fw1', 'sockd @=fw2 0.0.0.0 0.0.0.0'],
    ['drop-server', 'fw2', 'sockd @=fw1 0.0.0.0 0.0.0.0'],
    ['reorder-servers', 'fw2,fw1', 'sockd @=fw2,fw1 0.0.0.0 0.0.0.0'],
  ]);
});

test('sockd.route lines are mutated too (drop, swap, mask)', async (t) => {
  const routes = generateMutants(await load('multihomed-bind')).filter((m) => m.slot === 'route');
  t.true(routes.length > 0);
  t.true(routes.every((m) => ['drop-line', 'swap-next', 'mask-widen', 'mask-narrow'].includes(m.operator)));
});

test('every mutant of every reference topology, as the text a runtime loads, parses back to the same rules on the same lines', async (t) => {
  let n = 0;
  for (const name of ['seed-cascade', 'failover', 'multihomed-bind', 'campus']) {
    for (const m of generateMutants(await load(name))) {
      const parsed = configParsers[m.config.kind](configText(m.config), m.config.file);
      t.is(dumpConfig(parsed), dumpConfig(m.config), m.id);
      n++;
    }
  }
  t.true(n > 100, `${n} mutants`);
});

test("the mutant's topology carries the mutated text for that one file and leaves every other host alone", async (t) => {
  const design = await seed;
  const m = await mutant('B socks.conf:2 drop-line');
  const topology = mutantTopology(design.topology, m);
  const b = topology.hosts.find((h) => h.name === 'B')!;
  t.is(b.server?.socksConf?.text, '\n\nsockd @=10.2.0.1 0.0.0.0 0.0.0.0\n');
  t.is(b.server?.sockdConf, design.topology.hosts.find((h) => h.name === 'B')!.server?.sockdConf);
  t.deepEqual(
    topology.hosts.filter((h) => h.name !== 'B'),
    design.topology.hosts.filter((h) => h.name !== 'B'),
  );
});
