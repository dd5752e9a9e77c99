import { join } from 'node:path';
import test from 'ava';
import { chainSetup, planHostFaults } from '../../../src/runtime/link-fault-rules.ts';
import { resolveLinkFault } from '../../../src/topology/link-faults.ts';
import { loadTopology } from '../../../src/topology/load.ts';

const topology = await loadTopology(join(import.meta.dirname, '../../../topologies/dmz-failover.yaml'));
const fault = (raw: Parameters<typeof resolveLinkFault>[0]) => resolveLinkFault(raw, topology.hosts);
const plan = (
  host: string,
  faults: ReturnType<typeof fault>[],
  more: Partial<Parameters<typeof planHostFaults>[2]> = {},
) => planHostFaults(host, faults, { unreachable: 'refused', netem: false, queues: new Map(), ...more });
const rules = (restore: string) => restore.split('\n').filter((l) => l.startsWith('-A '));

test('a cut rejects inbound with host-unreachable and outbound with net-unreachable, and lets the ICMP answers out', (t) => {
  const p = plan('A1', [fault({ host: 'A1', network: 'dmz', cut: true })]);
  t.deepEqual(rules(p.restore), [
    '-A SOCKSLAB-OUT -s 10.60.1.11 -p icmp --icmp-type destination-unreachable -j RETURN',
    '-A SOCKSLAB-IN ! -i lo -d 10.60.1.11 -j REJECT --reject-with icmp-host-unreachable',
    '-A SOCKSLAB-OUT ! -o lo -s 10.60.1.11 -j REJECT --reject-with icmp-net-unreachable',
  ]);
  t.true(p.restore.startsWith('*filter\n:SOCKSLAB-IN - [0:0]\n:SOCKSLAB-OUT - [0:0]\n'));
  t.regex(
    rules(
      plan('A1', [fault({ host: 'A1', network: 'dmz', cut: true })], { unreachable: 'timeout' }).restore,
    )[1] ?? '',
    /-j DROP$/,
  );
});

test("only the host's own faults become its rules, and healing is writing the chains empty", (t) => {
  const p = plan('R', [fault({ host: 'A1', network: 'dmz', cut: true })]);
  t.deepEqual(rules(p.restore), []);
  t.is(p.restore, '*filter\n:SOCKSLAB-IN - [0:0]\n:SOCKSLAB-OUT - [0:0]\nCOMMIT\n');
  t.is(
    chainSetup()
      .split('\n')
      .filter((l) => l.startsWith('-I')).length,
    2,
  );
});

test('loss drops a fixed nth share of data segments only, never SYN, FIN or RST', (t) => {
  const [r] = rules(plan('z', [fault({ host: 'z', direction: 'in', loss: 25 })]).restore);
  t.is(
    r,
    '-A SOCKSLAB-IN ! -i lo -d 10.60.2.80 -p tcp --tcp-flags SYN,RST,FIN NONE -m length --length 53:65535 -m statistic --mode nth --every 4 --packet 0 -j DROP',
  );
  const heavy = rules(plan('z', [fault({ host: 'z', direction: 'out', loss: 75 })]).restore);
  t.is(heavy.length, 2);
  t.regex(heavy[0] ?? '', /--every 4 --packet 0 -j RETURN$/);
  t.regex(heavy[1] ?? '', /-j DROP$/);
});

test('a one-way drop names the peer, a reset the service port, a port filter both ends of a connection', (t) => {
  t.deepEqual(rules(plan('A1', [fault({ from: 'A1', to: 'R', drop: true })]).restore), [
    '-A SOCKSLAB-OUT ! -o lo -s 10.60.1.11 -d 10.60.1.10 -j DROP',
  ]);
  t.deepEqual(rules(plan('A1', [fault({ host: 'A1', network: 'dmz', port: 1080, reset: true })]).restore), [
    '-A SOCKSLAB-IN ! -i lo -d 10.60.1.11 -p tcp --dport 1080 -j REJECT --reject-with tcp-reset',
  ]);
  t.deepEqual(rules(plan('C', [fault({ host: 'C', port: 113, direction: 'in', drop: true })]).restore), [
    '-A SOCKSLAB-IN ! -i lo -d 10.60.0.20 -p tcp --dport 113 -j DROP',
    '-A SOCKSLAB-IN ! -i lo -d 10.60.0.20 -p tcp --sport 113 -j DROP',
  ]);
});

test('rules that decide come before rules that only slow', (t) => {
  const r = rules(
    plan('z', [
      fault({ host: 'z', delay: 100 }),
      fault({ host: 'z', loss: 20 }),
      fault({ host: 'z', peer: 'A2', drop: true }),
    ]).restore,
  );
  t.deepEqual(
    r.map((l) => l.split(' -j ')[1]?.split(' ')[0]),
    ['DROP', 'DROP', 'DROP', 'DROP', 'NFQUEUE', 'NFQUEUE'],
  );
});

test('delays go to a queue each, kept while the delay stays; netem takes a plain outbound delay where the kernel has it', (t) => {
  const queues = new Map<string, number>();
  const slow = fault({ host: 'A1', network: 'dmz', delay: 1200 });
  const p1 = plan('A1', [slow], { queues });
  t.deepEqual(
    p1.delays.map((d) => [d.queue, d.ms]),
    [
      [1, 1200],
      [2, 1200],
    ],
  );
  const p2 = plan('A1', [fault({ host: 'A1', network: 'outside', delay: 5 }), slow], { queues });
  t.deepEqual(
    p2.delays.filter((d) => d.ms === 1200).map((d) => d.queue),
    [1, 2],
  );
  t.deepEqual(
    p2.delays.filter((d) => d.ms === 5).map((d) => d.queue),
    [3, 4],
  );
  const netem = plan('A1', [slow], {
    netem: true,
    queues: new Map(),
    ifnameOf: (n) => (n === 'dmz' ? 'eth0' : undefined),
  });
  t.deepEqual(
    netem.netem.map((n) => [n.ifname, n.ms]),
    [['eth0', 1200]],
  );
  t.deepEqual(
    netem.delays.map((d) => d.ms),
    [1200],
  ); // inbound still by queue
});
