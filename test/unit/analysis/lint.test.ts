import test from 'ava';
import { LintCode, lintTopology } from '../../../src/analysis/lint.ts';
import { configParsers } from '../../../src/topology/config-parsers.ts';
import { parseTopologyText } from '../../../src/topology/load.ts';

/** A small topology with one of each mistake the lints look for. */
const text = `name: lint-me
networks:
  lan: { subnet: 10.1.0.0/24 }
  dmz: { subnet: 10.2.0.0/24 }
  far: { subnet: 10.9.0.0/24 }
hosts:
  C:
    role: client
    addresses: { lan: 10.1.0.10 }
    users: { x: 1001 }
    identd: truthful
    socks.conf: |
      sockd @=10.1.0.1 0.0.0.0 0.0.0.0
  B:
    role: rsockd
    addresses: { lan: 10.1.0.1, dmz: 10.2.0.2 }
    identd: truthful
    server:
      user: nobody
      sockd.conf: |
        permit *=x 10.1.0.0 255.255.255.0
        permit *=x 10.1.0.10 255.255.255.255 eq 80
        deny 0.0.0.0 0.0.0.0
      socks.conf: |
        sockd @=10.2.0.1 ALL
  A:
    role: sockd
    addresses: { dmz: 10.2.0.1 }
    server:
      user: root
      sockd.conf: |
        permit ?=i *=x 10.2.0.2 255.255.255.255
        deny 0.0.0.0 0.0.0.0
  D:
    role: sockd
    addresses: { far: 10.9.0.1 }
    server:
      user: root
      sockd.conf: |
        permit 10.9.0.0 255.255.255.0
  z:
    role: echo
    addresses: { dmz: 10.2.0.10 }
    echo: [7]
`;

/**
 * The loader already refuses upstreams that are not servers; a reload can still bring them in
 * (and check must catch it), so B's socks.conf is swapped after loading.
 */
const reloadedSocksConf = `sockd @=10.2.0.1 10.2.0.0 255.255.255.0
sockd @=z 198.51.100.0 255.255.255.0
sockd @=D 10.9.0.0 255.255.0.0
sockd @=10.2.0.1 ALL
direct 10.2.0.0 255.255.255.0 eq 7
`;

async function findings() {
  const { topology, configs } = await parseTopologyText(text, '/virtual/lint-me.yaml');
  const swapped = new Map(configs);
  swapped.set('B', {
    ...configs.get('B'),
    client: configParsers['socks.conf'](reloadedSocksConf, 'socks.conf'),
  });
  return lintTopology(topology, swapped);
}

test('a line covered by an earlier line is reported as shadowed, citing both lines', async (t) => {
  const f = (await findings()).filter((x) => x.code === LintCode.Shadowed);
  t.deepEqual(
    f.map((x) => [x.host, x.file, x.line]),
    [
      ['B', 'sockd.conf', 2],
      ['B', 'socks.conf', 5],
    ],
  );
  t.regex(f[0]!.message, /line 2 can never match: line 1 \(`permit \*=x 10\.1\.0\.0 255\.255\.255\.0`\)/);
});

test('a socks.conf server that runs no SOCKS server is an error', async (t) => {
  const f = (await findings()).filter((x) => x.code === LintCode.UpstreamNotServer);
  t.deepEqual(
    f.map((x) => [x.severity, x.host, x.line]),
    [['error', 'B', 2]],
  );
  t.regex(f[0]!.message, /server z \(z\) runs no SOCKS server \(role echo\)/);
});

test('a socks.conf server on no shared network is an error', async (t) => {
  const f = (await findings()).filter((x) => x.code === LintCode.UpstreamUnreachable);
  t.deepEqual(
    f.map((x) => [x.severity, x.host, x.line]),
    [['error', 'B', 3]],
  );
  t.regex(f[0]!.message, /shares no network with B/);
});

test('identd checks on requests from an rsockd are flagged as the g.7 pitfall', async (t) => {
  const f = (await findings()).filter((x) => x.code === LintCode.ChainedIdentd);
  t.deepEqual(
    f.map((x) => [x.host, x.line]),
    [['A', 1]],
  );
  t.regex(f[0]!.message, /identd there answers nobody, so every chained request is refused with 93/);
});

test('permit lines without identd on a first-hop server are flagged', async (t) => {
  const f = (await findings()).filter((x) => x.code === LintCode.FirstHopNoIdentd);
  t.deepEqual(
    f.map((x) => [x.host, x.line]),
    [
      ['B', 1],
      ['B', 2],
    ],
  );
});

test('the reference seed cascade lints clean apart from its deliberate g.7 demonstration', async (t) => {
  const { loadTopologyWithConfigs } = await import('../../../src/topology/load.ts');
  const { projectRoot } = await import('../../helpers/seed-topology.ts');
  const { topology, configs } = await loadTopologyWithConfigs(`${projectRoot}topologies/seed-cascade.yaml`);
  t.deepEqual(
    lintTopology(topology, configs).map((f) => [f.code, f.host, f.line]),
    [[LintCode.ChainedIdentd, 'A', 4]],
  );
});
