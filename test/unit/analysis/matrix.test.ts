import { readFile } from 'node:fs/promises';
import test from 'ava';
import { requestClasses } from '../../../src/analysis/classes.ts';
import { buildMatrix, evaluateSpace, type MatrixRow } from '../../../src/analysis/matrix.ts';
import { LabWorld } from '../../../src/analysis/world.ts';
import {
  attemptsCell,
  identdCell,
  linesCell,
  pathCell,
  renderMatrixCsv,
  renderMatrixText,
  routeCell,
} from '../../../src/report/matrix-text.ts';
import type { ProbeRequest } from '../../../src/runtime/runtime.ts';
import { loadTopologyWithConfigs } from '../../../src/topology/load.ts';
import { generatedTopology } from '../../helpers/generated-topology.ts';
import { readMdTables } from '../../helpers/md-table.ts';
import { projectRoot } from '../../helpers/seed-topology.ts';

/**
 * The matrix of every reference topology against tables written by hand from the configs
 * (test/fixtures/matrix/*.md): each hand row is a concrete request; the matrix row of the class
 * it falls in must say what the hand row says.
 */

const References = ['seed-cascade', 'campus', 'failover', 'multihomed-bind'] as const;

async function worldOf(name: string): Promise<LabWorld> {
  const { topology, configs } = await loadTopologyWithConfigs(`${projectRoot}topologies/${name}.yaml`);
  return new LabWorld(topology, configs);
}

/** identd cells compare the asking host and verdict; the user only where the class's owner is the row's. */
const identdShape = (cell: string) => cell.replace(/: \S+ (confirmed|mismatch|unavailable)/g, ': $1');

for (const name of References) {
  test(`${name}: the matrix says what the hand-derived table says`, async (t) => {
    const world = await worldOf(name);
    const space = requestClasses(world);
    const matrix = await buildMatrix(world);
    t.is(matrix.rows.length, space.count, 'every class is evaluated once');
    const byId = new Map(matrix.rows.map((r) => [r.id, r]));
    const text = await readFile(`${projectRoot}test/fixtures/matrix/${name}.md`, 'utf8');
    const [rows, counts] = readMdTables(text);
    t.true((rows?.rows.length ?? 0) >= 7, 'the fixture has its table');
    for (const hand of rows!.rows) {
      const claim = hand.get('claim');
      const request: ProbeRequest = {
        from: hand.get('from'),
        user: hand.get('owner'),
        ...(claim ? { claim } : {}),
        protocol: hand.get('protocol') as ProbeRequest['protocol'],
        command: 'connect',
        target: { host: hand.get('to'), port: Number(hand.get('port')) },
        useSocksConf: true,
      };
      const where = `fixture line ${hand.line}`;
      const c = space.classOf(request);
      if (!c) {
        t.fail(`${where}: the request falls in no class`);
        continue;
      }
      const row = byId.get(c.id) as MatrixRow;
      t.is(row.reply === null ? '' : String(row.reply), hand.get('reply'), `${where}: reply`);
      t.is(row.verdict as string, hand.get('verdict'), `${where}: verdict`);
      t.is(pathCell(row), hand.get('path'), `${where}: path`);
      t.is(linesCell(row), hand.get('lines'), `${where}: lines`);
      t.is(routeCell(row), hand.get('route'), `${where}: route`);
      if (row.user.owner === request.user) t.is(identdCell(row), hand.get('identd'), `${where}: identd`);
      else t.is(identdShape(identdCell(row)), identdShape(hand.get('identd')), `${where}: identd`);
      if (hand.has('attempts')) t.is(attemptsCell(row), hand.get('attempts'), `${where}: failover`);
    }
    if (counts?.header[0] === 'classes') t.is(String(matrix.classes), counts.rows[0]!.get('classes'));
  });
}

test('filters select whole classes: --user x --to z on seed-cascade keeps x’s classes towards z', async (t) => {
  const world = await worldOf('seed-cascade');
  const m = await buildMatrix(world, { filter: { user: 'x', to: 'z' } });
  t.is(m.classes, 472, 'the count is of the whole space');
  // Honest x and "any user claiming x" (SOCKS 4 to z's address, 4A to its name) and SOCKS 5 of
  // any owner (to both), 3 port atoms each.
  t.is(m.rows.length, 2 * 2 * 3 + 2 * 3);
  t.true(m.rows.every((r) => r.destination.hosts.includes('z')));
  t.deepEqual([...new Set(m.rows.map((r) => r.user.label))].sort(), [
    'any user (no USERID)',
    'any user claiming x',
    'x',
  ]);
  const port = await buildMatrix(world, { filter: { port: 7, to: '198.51.100.10', user: 'x' } });
  t.deepEqual(
    port.rows.map((r) => [r.protocol, r.user.label, r.verdict]),
    [
      ['socks4', 'x', 'granted'],
      ['socks4', 'any user claiming x', 'identd'],
      ['socks5', 'any user (no USERID)', 'no-reply'],
    ],
  );
});

test('an unknown --from host is invalid input naming the hosts', async (t) => {
  const world = await worldOf('seed-cascade');
  const err = await t.throwsAsync(buildMatrix(world, { filter: { from: ['Q'] } }));
  t.is((err as { code?: string }).code, 'E_CLASS_ORIGIN');
  t.regex(err!.message, /unknown origin host `Q`; hosts: C, B, A, z/);
});

test('the terminal table groups by origin and says when it groups by outcome', async (t) => {
  const world = await worldOf('seed-cascade');
  const all = await buildMatrix(world);
  const grouped = renderMatrixText(all);
  t.regex(grouped, /^sockslab matrix — seed-cascade: 472 classes enumerated/);
  t.regex(grouped, /grouped: 472 classes are more than 200 rows/);
  t.regex(grouped, /^C — 472 classes: /m);
  const few = renderMatrixText(await buildMatrix(world, { filter: { user: 'x', to: 'z' } }));
  t.notRegex(few, /grouped:/);
  t.regex(
    few,
    /socks4 +x +z 198\.51\.100\.10 +7 +90 +granted +C > B > A > z +B sockd\.conf:2, A sockd\.conf:2/,
  );
});

test('CSV has a header and one quoted line per class', async (t) => {
  const m = await buildMatrix(await worldOf('failover'));
  const lines = renderMatrixCsv(m).trimEnd().split('\r\n');
  t.is(lines.length, m.rows.length + 1);
  t.true(lines[0]!.startsWith('"origin","origin_hosts","protocol"'));
  t.true(lines.slice(1).every((l) => l.startsWith('"C","C",')));
  t.true(lines.some((l) => l.includes('"R: fw1 ✗, fw1 ✗, fw2 ✓"')));
});

test('the generated 50-host topology: alike workstations are one origin, and every class is evaluated', async (t) => {
  const { topology, configs } = await generatedTopology();
  t.is(topology.hosts.length, 50);
  const world = new LabWorld(topology, configs);
  const space = requestClasses(world);
  // 3 departments × (truthful workstations, the one with a faulty identd).
  t.is(space.origins.length, 6);
  t.deepEqual(
    space.origins.map((o) => o.members.length).sort((a, b) => a - b),
    [1, 1, 1, 9, 10, 10],
  );
  const m = await evaluateSpace(space, world, { from: ['ws2-1'], to: 'www1', user: 'alice2' });
  t.true(m.rows.length > 0);
  // alice2 (and bob2, listed alike) is staff of department 2: web through dept2 → mid2 → edge2.
  const web = m.rows.find(
    (r) => r.protocol === 'socks4' && r.user.label === 'alice2,bob2' && r.port.label === '80',
  );
  t.is(web?.verdict, 'granted');
  t.deepEqual(web?.path, ['ws2-1', 'dept2', 'mid2', 'edge2', 'www1']);
});
