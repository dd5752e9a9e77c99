import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { forwarding } from '../../../src/diagram/forwarding.ts';
import { awkwardFailover, seedCascade } from './topologies.ts';

const specSocksConf = readFileSync(
  path.resolve(import.meta.dirname, '../../fixtures/spec/socks.conf'),
  'utf8',
);
const gateway = 'gw\\east';

const routesFrom = (host: string) => {
  const result = forwarding(awkwardFailover(specSocksConf));
  return result.edges.filter((e) => e.from === host);
};

test('an @= list becomes one edge per server, numbered in fail-over order', (t) => {
  const edges = routesFrom(gateway);
  const partnerLine = edges.flatMap((e) =>
    e.routes.filter((r) => r.line === 6).map((r) => ({ to: e.to, ...r })),
  );
  t.deepEqual(
    partnerLine
      .map((r) => [r.position, r.of, r.to.kind === 'host' ? r.to.host : `external ${r.to.name}`])
      .sort(),
    [
      [1, 4, 'fw2'],
      [2, 4, 'fw-old.corp.example.com'],
      [3, 4, 'fw3'],
      [4, 4, 'external fw3.corp.example.com'],
    ],
  );
  t.true(partnerLine.every((r) => r.matches === '.partner.example.net' && !r.viaDefault));
});

test('upstream entries are matched to hosts by interface address and by host name', (t) => {
  const targets = routesFrom(gateway).map((e) => (e.to.kind === 'host' ? e.to.host : undefined));
  t.true(targets.includes('fw2'), '10.0.0.2 is an address of fw2');
  t.true(targets.includes('fw-old.corp.example.com'), 'named by its host name');
});

test('a server the topology does not contain stays an external upstream', (t) => {
  const external = routesFrom(gateway).find((e) => e.to.kind === 'external' && e.to.name === '10.0.0.4');
  t.truthy(external);
  t.deepEqual(
    external?.routes.map((r) => [r.line, r.matches]),
    [[7, '192.0.2.0/24 port eq nntp']],
  );
});

test('sockd lines without a server list go to the default server and are marked so', (t) => {
  const toDefault = routesFrom(gateway).find((e) => e.to.kind === 'host' && e.to.host === 'default-fw');
  t.deepEqual(
    toDefault?.routes.map((r) => [r.line, r.viaDefault, r.matches]),
    [
      [9, true, 'any destination port ge 1024 *=alice,/etc/sockd/staff.users'],
      [10, true, 'any destination port eq http'],
    ],
  );
});

test('an unparsable socks.conf draws no edges and leaves a warning naming the line', (t) => {
  const result = forwarding(awkwardFailover(specSocksConf));
  t.false(result.edges.some((e) => e.from === 'broken'));
  const warning = result.warnings.find((w) => w.host === 'broken');
  t.regex(warning?.message ?? '', /socks\.conf:2 is invalid.*no forwarding drawn/);
});

test('a sockd line with no list and no default server is a warning, not an edge', (t) => {
  const topology = awkwardFailover('sockd ALL\n');
  const hosts = topology.hosts.map((h) => {
    if (h.name !== gateway || h.server === undefined) return h;
    const { defaultServer: _unused, ...server } = h.server;
    return { ...h, server };
  });
  const result = forwarding({ ...topology, hosts });
  t.false(result.edges.some((e) => e.from === gateway));
  t.regex(result.warnings.find((w) => w.host === gateway)?.message ?? '', /socks\.conf:1 names no server/);
});

test('a client host draws where its own socks.conf sends it; a sockd draws nothing', (t) => {
  const result = forwarding(seedCascade());
  t.deepEqual(
    result.edges.map((e) => [e.from, e.to.kind === 'host' ? e.to.host : '?', e.routes.map((r) => r.line)]),
    [
      ['B', 'A', [2]],
      ['C', 'B', [1]],
    ],
  );
  t.deepEqual(result.warnings, []);
});
