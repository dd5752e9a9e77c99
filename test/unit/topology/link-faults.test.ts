import { join } from 'node:path';
import test from 'ava';
import {
  type LinkFault,
  lossPattern,
  pathEffect,
  resolveLinkFault,
} from '../../../src/topology/link-faults.ts';
import { loadTopology, parseTopologyText } from '../../../src/topology/load.ts';

const root = join(import.meta.dirname, '../../..');
const topology = await loadTopology(join(root, 'topologies/dmz-failover.yaml'));
const hosts = topology.hosts;
const fault = (raw: Parameters<typeof resolveLinkFault>[0]) => resolveLinkFault(raw, hosts);

test('a one-way fault from A1 to R is an outbound fault on A1 limited to R', (t) => {
  const f = fault({ from: 'A1', to: 'R', drop: true });
  t.like(f, {
    host: 'A1',
    network: 'dmz',
    address: '10.60.1.11',
    direction: 'out',
    peer: { host: 'R', address: '10.60.1.10' },
  });
  t.is(f.id, 'drop on A1@dmz out to R');
});

test('a host with one interface needs no network; a multi-homed one must say which', (t) => {
  t.is(fault({ host: 'z', delay: '2s' }).network, 'outside');
  t.is(fault({ host: 'z', delay: '2s' }).effect.kind, 'delay');
  const err = t.throws(() => fault({ host: 'R', cut: true }));
  t.regex(err.message, /R has several interfaces; say which with network:/);
});

test('a fault names exactly one effect, and reset only arrives inbound', (t) => {
  t.regex(
    t.throws(() => fault({ host: 'z', cut: true, drop: true })).message,
    /exactly one of cut, delay, loss, drop, reset \(got cut, drop\)/,
  );
  t.regex(t.throws(() => fault({ host: 'z' })).message, /exactly one of/);
  t.regex(t.throws(() => fault({ host: 'z', reset: true, direction: 'out' })).message, /direction in/);
  t.is(fault({ host: 'z', reset: true }).direction, 'in');
  t.regex(t.throws(() => fault({ host: 'nobody', cut: true })).message, /unknown host "nobody"/);
});

test('loss percentages become a fixed drop pattern, the rate it really drops stated', (t) => {
  t.like(lossPattern(20), { every: 5, dropNth: true, percent: 20 });
  t.like(lossPattern(30), { every: 3, dropNth: true });
  t.like(lossPattern(50), { every: 2, dropNth: true, percent: 50 });
  t.like(lossPattern(80), { every: 5, dropNth: false, percent: 80 });
});

test('what faults do to one connection: the SYN meets the sender first, the SYN-ACK decides the way back', (t) => {
  const R = { host: 'R', address: '10.60.1.10' };
  const A1 = { host: 'A1', address: '10.60.1.11' };
  const effect = (faults: LinkFault[], port = 1080) => pathEffect(faults, R, A1, port);
  t.is(effect([fault({ host: 'A1', network: 'dmz', cut: true })]).blocked?.how, 'host-unreachable');
  t.is(effect([fault({ host: 'R', network: 'dmz', cut: true })]).blocked?.how, 'net-unreachable');
  t.is(effect([fault({ from: 'A1', to: 'R', drop: true })]).blocked?.how, 'timeout');
  t.is(effect([fault({ host: 'A1', network: 'dmz', port: 1080, reset: true })]).blocked?.how, 'reset');
  t.is(effect([fault({ host: 'A1', network: 'dmz', port: 1080, reset: true })], 7).blocked, undefined);
  const slow = effect([
    fault({ host: 'A1', network: 'dmz', delay: 300 }),
    fault({ host: 'R', network: 'dmz', direction: 'out', delay: 50 }),
  ]);
  t.deepEqual([slow.forwardMs, slow.backwardMs], [350, 300]);
  // A peer-limited fault leaves other peers alone.
  t.is(
    pathEffect([fault({ from: 'A1', to: 'R', drop: true })], { host: 'A2', address: '10.60.1.12' }, A1, 1080)
      .blocked,
    undefined,
  );
});

test('a standing fault with an error is reported at its line in the topology', async (t) => {
  const text = `name: t
networks: { n: { subnet: 10.9.0.0/24 } }
hosts:
  a: { role: echo, addresses: [n], echo: [7] }
faults:
  - { host: a, delay: 1s }
  - { host: b, cut: true }
`;
  const err = await t.throwsAsync(parseTopologyText(text, 't.yaml'));
  t.regex(err?.message ?? '', /t\.yaml:7:\d+: faults\[1\]\.host: unknown host "b"/);
  const ok = await parseTopologyText(text.replace('  - { host: b, cut: true }\n', ''), 't.yaml');
  t.is(ok.topology.faults?.[0]?.id, 'delay 1000ms on a@n');
});
