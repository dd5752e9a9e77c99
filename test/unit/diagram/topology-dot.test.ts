import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { dotId } from '../../../src/diagram/dot-syntax.ts';
import { hostId, topologyDot } from '../../../src/diagram/topology-dot.ts';
import type { ResolvedTopology } from '../../../src/topology/model.ts';
import { assertGolden } from './golden.ts';
import { awkwardFailover, conf, seedCascade } from './topologies.ts';

const specSocksConf = readFileSync(
  path.resolve(import.meta.dirname, '../../fixtures/spec/socks.conf'),
  'utf8',
);

const lines = (dot: string, pattern: RegExp) => dot.split('\n').filter((l) => pattern.test(l));

test('the seed cascade draws as its golden DOT', (t) => {
  assertGolden(t, 'seed-cascade.topology.dot', topologyDot(seedCascade()));
});

test('awkward names, fail-over lists and a broken socks.conf draw as their golden DOT', (t) => {
  assertGolden(t, 'awkward-failover.topology.dot', topologyDot(awkwardFailover(specSocksConf)));
});

test('the same topology in another order gives the same DOT', (t) => {
  const topology = awkwardFailover(specSocksConf);
  const shuffled: ResolvedTopology = {
    ...topology,
    networks: [...topology.networks].reverse(),
    hosts: [...topology.hosts].reverse().map((h) => ({ ...h, interfaces: [...h.interfaces].reverse() })),
  };
  t.is(topologyDot(shuffled), topologyDot(topology));
});

test('each network is a cluster labelled with its name and subnet', (t) => {
  const dot = topologyDot(seedCascade());
  for (const [name, subnet] of [
    ['inside', '10.1.0.0/24'],
    ['dmz', '10.2.0.0/24'],
    ['outside', '10.3.0.0/24'],
  ]) {
    const head = dot.indexOf(`subgraph "cluster_net:${name}" {`);
    t.true(head >= 0, name);
    t.true(dot.slice(head, dot.indexOf('\n  }', head)).includes(`<B>${name}</B>  ${subnet}`), name);
  }
});

test('a multi-homed host is drawn once, outside the clusters, with an edge into each network labelled with its address', (t) => {
  const dot = topologyDot(seedCascade());
  t.is(lines(dot, /^\s*"h:B" \[/).length, 1);
  t.true(lines(dot, /^ {2}"h:B" \[/).length === 1, 'declared at top level, not inside a cluster');
  const memberships = lines(
    dot,
    /^ {2}"net(out)?:(inside|dmz)" -> "h:B" |^ {2}"h:B" -> "net(out)?:(inside|dmz)" /,
  );
  t.is(memberships.length, 2);
  t.true(memberships.some((l) => l.includes('lhead="cluster_net:dmz"') && l.includes('>10.2.0.2<')));
  t.true(memberships.some((l) => l.includes('ltail="cluster_net:inside"') && l.includes('>10.1.0.1<')));
});

test('a single-homed host sits inside its network with its address and its listening ports', (t) => {
  const dot = topologyDot(seedCascade());
  const cluster = dot.slice(dot.indexOf('subgraph "cluster_net:outside"'));
  const z = lines(cluster, /^\s*"h:Z" \[/)[0] ?? '';
  t.regex(z, /shape="box3d"/);
  t.regex(z, />echo :7</);
  t.regex(z, />10\.3\.0\.10</);
});

test('hosts are shaped and coloured by role', (t) => {
  const dot = topologyDot(seedCascade());
  t.regex(lines(dot, /"h:B" \[/)[0] ?? '', /shape="hexagon".*fillcolor="#fde68a"/);
  t.regex(lines(dot, /"h:A" \[/)[0] ?? '', /shape="octagon".*fillcolor="#fed7aa"/);
  t.regex(lines(dot, /"h:C" \[/)[0] ?? '', /shape="box", style="rounded,filled".*fillcolor="#dbeafe"/);
});

test('forwarding edges carry the socks.conf line, the @= order and the default-server mark', (t) => {
  const dot = topologyDot(awkwardFailover(specSocksConf));
  const from = hostId('gw\\east');
  const edge = (to: string) =>
    lines(dot, new RegExp(`^  ${escapeRegExp(from)} -> ${escapeRegExp(to)} `))[0] ?? '';
  t.regex(edge(hostId('fw2')), /socks\.conf:6 #1\/4 for \.partner\.example\.net/);
  t.regex(edge(hostId('fw3')), /socks\.conf:6 #3\/4/);
  t.regex(edge(hostId('default-fw')), /socks\.conf:9 default server.*socks\.conf:10 default server/);
  t.regex(edge('"x:10.0.0.4"'), /socks\.conf:7 for 192\.0\.2\.0\/24 port eq nntp/);
});

test('a broken socks.conf becomes a note on its host instead of edges', (t) => {
  const dot = topologyDot(awkwardFailover(specSocksConf));
  t.false(lines(dot, /^ {2}"h:broken" -> "h:/).length > 0);
  t.is(lines(dot, new RegExp(`^  "h:broken" -> ${escapeRegExp(dotId('note', 'broken#0'))}`)).length, 1);
  t.regex(dot, /shape="note".*socks\.conf:2 is invalid/);
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The seed cascade with a sockd.route on A (multi-homed between dmz and outside). */
function withRoute(text: string) {
  const base = seedCascade();
  return {
    ...base,
    hosts: base.hosts.map((h) =>
      h.name === 'A' && h.server !== undefined
        ? { ...h, server: { ...h.server, multihomed: true, sockdRoute: conf('sockd.route', text) } }
        : h,
    ),
  };
}

test("a multi-homed server's sockd.route lines label its edge into the network each interface faces", (t) => {
  const dot = topologyDot(withRoute('10.2.0.1 10.2.0.0 255.255.255.0\n10.3.0.1 0.0.0.0 0.0.0.0\n'));
  const edgeTo = (network: string) =>
    lines(dot, new RegExp(`^ {2}"h:A" -> "net:${network}" |^ {2}"netout:${network}" -> "h:A" `))[0] ?? '';
  t.regex(edgeTo('dmz'), />10\.2\.0\.1<.*BIND to 10\.2\.0\.0\/24 \(sockd\.route:1\)/);
  t.regex(edgeTo('outside'), />10\.3\.0\.1<.*BIND to any destination \(sockd\.route:2\)/);
});

test('an unparsable sockd.route becomes a note on its host', (t) => {
  const dot = topologyDot(withRoute('10.2.0.1 10.2.0.0 255.255.255.0 extra\n'));
  t.regex(dot, /shape="note".*sockd\.route:1 is invalid/);
});

test("an rsockd's direct and deny lines are listed under it with their line numbers", (t) => {
  const b = lines(topologyDot(seedCascade()), /^ {2}"h:B" \[/)[0] ?? '';
  t.regex(b, /direct 10\.1\.0\.0\/24 \(socks\.conf:1\)/);
  const gw = lines(topologyDot(awkwardFailover(specSocksConf)), /^ {2}"h:gw~5c;east" \[/)[0] ?? '';
  t.regex(
    gw,
    /deny any destination \*=mallory \(socks\.conf:3\).*deny 192\.0\.2\.0\/24 port le 1023 \(socks\.conf:8\)/,
  );
});

test('past four direct/deny lines the rest are counted, not listed', (t) => {
  const more = awkwardFailover(`${specSocksConf}direct 10.9.0.0 255.255.0.0\n`);
  const gw = lines(topologyDot(more), /^ {2}"h:gw~5c;east" \[/)[0] ?? '';
  t.regex(gw, /direct \.corp\.example\.com \(socks\.conf:5\).*… 2 more lines/);
  t.notRegex(gw, /socks\.conf:11/);
});
