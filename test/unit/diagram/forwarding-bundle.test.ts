import test from 'ava';
import { forwarding } from '../../../src/diagram/forwarding.ts';
import { bundleForwarding } from '../../../src/diagram/forwarding-bundle.ts';
import { topologyDot } from '../../../src/diagram/topology-dot.ts';
import { naturalCompare, placement } from '../../../src/diagram/topology-facts.ts';
import type { HostModel, ResolvedTopology } from '../../../src/topology/model.ts';
import { conf, seedCascade } from './topologies.ts';

/** The seed cascade with `extra` more workstations on C's network, all routing through B. */
function withWorkstations(extra: number, socksConf = 'sockd @=10.1.0.1 ALL\n'): ResolvedTopology {
  const base = seedCascade();
  const c = base.hosts.find((h) => h.name === 'C')!;
  const more: HostModel[] = Array.from({ length: extra }, (_, i) => ({
    ...c,
    name: `ws${i + 1}`,
    interfaces: [{ network: 'inside', address: `10.1.0.${20 + i}` }],
    clientSocksConf: conf('socks.conf', socksConf),
  }));
  return { ...base, hosts: [...base.hosts, ...more] };
}

test('three or more hosts of one network with the same route draw as one edge from the network', (t) => {
  const topology = withWorkstations(11);
  const drawn = bundleForwarding(forwarding(topology).edges, placement(topology));
  const bundle = drawn.find((d) => d.from.kind === 'network');
  t.deepEqual(bundle?.from, {
    kind: 'network',
    network: 'inside',
    hosts: ['C', ...Array.from({ length: 11 }, (_, i) => `ws${i + 1}`)].sort(naturalCompare),
    all: true,
  });
  t.false(drawn.some((d) => d.from.kind === 'host' && d.from.host.startsWith('ws')));
  t.regex(
    topologyDot(topology),
    /all 12 hosts of inside:<\/FONT><BR\/><FONT POINT-SIZE="10">socks\.conf:1 for any destination/,
  );
});

test('hosts whose routes differ keep their own edges', (t) => {
  const topology = withWorkstations(2, 'sockd @=10.1.0.1 10.0.0.0 255.0.0.0\n');
  const drawn = bundleForwarding(forwarding(topology).edges, placement(topology));
  t.deepEqual(
    drawn.map((d) => (d.from.kind === 'host' ? d.from.host : d.from.network)),
    ['B', 'C', 'ws1', 'ws2'],
  );
});

test('host names sort naturally and independently of the locale', (t) => {
  t.deepEqual(['ws10', 'ws2', 'ws1-10', 'ws1-9', 'b', 'A'].sort(naturalCompare), [
    'A',
    'b',
    'ws1-9',
    'ws1-10',
    'ws2',
    'ws10',
  ]);
});

test('a big network wraps its hosts into rows instead of one long row', (t) => {
  const dot = topologyDot(withWorkstations(11));
  const rows = dot.split('\n').filter((l) => l.includes('{ rank="same";') && l.includes('"h:ws'));
  t.true(rows.length >= 3, `${rows.length} rows`);
});
