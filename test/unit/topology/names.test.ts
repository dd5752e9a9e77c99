import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { TableResolver } from '../../../src/server/resolvers.ts';
import { TopologyError } from '../../../src/topology/errors.ts';
import { addressFrom } from '../../../src/topology/host-table.ts';
import { parseTopologyText } from '../../../src/topology/load.ts';
import type { ResolvedTopology } from '../../../src/topology/model.ts';
import { hostNamesOf, hostNamesResolver, hostsFileText, nameSourceOf } from '../../../src/topology/names.ts';

const header = '# yaml-language-server: $schema=topology.schema.json\n';

/** C on lan; G on lan and dmz; W on dmz; zones on both networks, entries on C. */
const zoned = `
networks:
  lan:
    subnet: 10.1.0.0/24
    names:
      intra.corp: W
      printer.lan: 10.1.0.99
  dmz:
    subnet: 10.2.0.0/24
    names:
      intra.corp: 10.2.0.30
      shop.corp: [W, 10.2.0.31]
hosts:
  C:
    role: client
    addresses: { lan: 10.1.0.10 }
    hosts:
      shop.corp: 10.1.0.77
      W: 10.1.0.78
  G:
    role: sockd
    addresses: { lan: 10.1.0.1, dmz: 10.2.0.1 }
    hosts:
      intra.corp: W
    server:
      sockd.conf: |
        permit 0.0.0.0 0.0.0.0
  W:
    role: echo
    addresses: { dmz: 10.2.0.30 }
    echo: [7]
`;

async function load(text: string): Promise<ResolvedTopology> {
  const dir = await mkdtemp(path.join(tmpdir(), 'names-'));
  return (await parseTopologyText(header + text, path.join(dir, 't.yaml'))).topology;
}

async function failure(text: string): Promise<TopologyError> {
  try {
    await load(text);
  } catch (err) {
    if (err instanceof TopologyError) return err;
    throw err;
  }
  throw new Error('expected a TopologyError');
}

test('a host resolves its own entries first, then its networks’ zones, then the topology’s host names', async (t) => {
  const topo = await load(zoned);
  const c = hostNamesOf(topo, 'C');
  const resolver = hostNamesResolver(topo.hosts, c);
  t.deepEqual(await resolver.forward('shop.corp'), ['10.1.0.77'], 'own entry wins (C is not on dmz anyway)');
  t.deepEqual(await resolver.forward('W'), ['10.1.0.78'], 'an own entry wins over a host name');
  t.deepEqual(await resolver.forward('intra.corp'), ['10.2.0.30'], 'the lan zone: W, by its only address');
  t.deepEqual(await resolver.forward('PRINTER.lan'), ['10.1.0.99'], 'names compare case-insensitively');
  t.deepEqual(await resolver.forward('G'), ['10.1.0.1', '10.2.0.1'], 'a host name: every address');
  t.deepEqual(await resolver.forward('db.internal'), [], 'no source knows it: unresolvable here');
  t.is(nameSourceOf(topo.hosts, c, 'shop.corp'), 'hosts');
  t.is(nameSourceOf(topo.hosts, c, 'intra.corp'), 'zone:lan');
  t.is(nameSourceOf(topo.hosts, c, 'G'), 'topology');
  t.is(nameSourceOf(topo.hosts, c, 'db.internal'), undefined);
  // W is on dmz only: it sees the dmz zone, not lan's printer.
  const w = hostNamesResolver(topo.hosts, hostNamesOf(topo, 'W'));
  t.deepEqual(await w.forward('shop.corp'), ['10.2.0.30', '10.2.0.31']);
  t.deepEqual(await w.forward('printer.lan'), []);
  // Reverse: the host name first, then the names that lead there from this host.
  t.deepEqual(await w.reverse('10.2.0.30'), ['W', 'intra.corp', 'shop.corp']);
  // A SOCKS 4 client resolves with its own names.
  t.is(addressFrom(topo.hosts, 'C', 'shop.corp', c), '10.1.0.77');
  t.is(addressFrom(topo.hosts, 'C', 'db.internal', c), 'db.internal');
});

test('two zones of one host that disagree are settled by the host’s own entry', async (t) => {
  // G is on lan (intra.corp → W = 10.2.0.30) and dmz (intra.corp → 10.2.0.30): they agree.
  // Its own entry decides anyway.
  const topo = await load(zoned);
  t.deepEqual(await hostNamesResolver(topo.hosts, hostNamesOf(topo, 'G')).forward('intra.corp'), [
    '10.2.0.30',
  ]);
  // Without G's own entry, lan saying 10.1.0.50 and dmz saying 10.2.0.30 is an error at dmz's entry.
  const err = await failure(
    zoned
      .replace('      intra.corp: W\n      printer.lan', '      intra.corp: 10.1.0.50\n      printer.lan')
      .replace('    hosts:\n      intra.corp: W\n', ''),
  );
  const issue = err.issues.find((i) => i.code === 'E_TOPO_DUPLICATE');
  t.truthy(issue, err.message);
  t.deepEqual(issue!.path, ['networks', 'dmz', 'names', 'intra.corp']);
  t.is(issue!.line, 12);
  t.true(issue!.column > 0);
  t.regex(
    issue!.message,
    /host G is on lan and dmz, whose zones resolve intra\.corp differently \(10\.1\.0\.50 and 10\.2\.0\.30\)/,
  );
  t.regex(err.message, /t\.yaml:12:\d+/);
});

test('a bad zone or hosts: entry is an error at its own line and column', async (t) => {
  const unknownHost = await failure(zoned.replace('shop.corp: [W, 10.2.0.31]', 'shop.corp: [Wx, 10.2.0.31]'));
  const ref = unknownHost.issues.find((i) => i.code === 'E_TOPO_REFERENCE')!;
  t.deepEqual(ref.path, ['networks', 'dmz', 'names', 'shop.corp', 0]);
  t.is(ref.line, 13);
  t.regex(
    ref.message,
    /`Wx` is neither a dotted IPv4 address nor a host of this topology; did you mean `W`\?/,
  );

  const badOctet = await failure(zoned.replace('printer.lan: 10.1.0.99', 'printer.lan: 10.1.0.299'));
  const addr = badOctet.issues.find((i) => i.code === 'E_TOPO_ADDRESS')!;
  t.deepEqual(addr.path, ['networks', 'lan', 'names', 'printer.lan']);
  t.is(addr.line, 8);

  const badName = await failure(zoned.replace('printer.lan: 10.1.0.99', '10.1.0.5: 10.1.0.99'));
  t.regex(badName.message, /t\.yaml:8:\d+: .*`10\.1\.0\.5` is not a DNS-style name/);

  const hostEntry = await failure(zoned.replace('      W: 10.1.0.78', '      W: nowhere'));
  const own = hostEntry.issues.find((i) => i.code === 'E_TOPO_REFERENCE')!;
  t.deepEqual(own.path, ['hosts', 'C', 'hosts', 'W']);
  t.is(own.line, 20);
});

test('the hosts file written for a server answers exactly as the in-process resolver', async (t) => {
  const topo = await load(zoned);
  for (const host of topo.hosts) {
    const own = hostNamesOf(topo, host.name);
    const inProcess = hostNamesResolver(topo.hosts, own);
    const file = new TableResolver(hostsFileText(topo.hosts, own));
    for (const name of ['C', 'G', 'W', 'intra.corp', 'shop.corp', 'printer.lan', 'db.internal'])
      t.deepEqual(await file.forward(name), await inProcess.forward(name), `${host.name} forward ${name}`);
    for (const address of [
      '10.1.0.10',
      '10.1.0.1',
      '10.2.0.1',
      '10.2.0.30',
      '10.2.0.31',
      '10.1.0.77',
      '10.1.0.99',
    ])
      t.deepEqual(
        await file.reverse(address),
        await inProcess.reverse(address),
        `${host.name} reverse ${address}`,
      );
  }
});
