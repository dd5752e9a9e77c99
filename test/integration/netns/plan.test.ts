import path from 'node:path';
import test from 'ava';
import { agentScript, overlayDirectories, topDirectory } from '../../../src/runtime/netns/host-filesystem.ts';
import { parseNamespace, runPrefix } from '../../../src/runtime/netns/names.ts';
import {
  addNamespacesBatch,
  hostBatch,
  namespacesOf,
  planNetns,
  switchBridgesBatch,
  switchPortsBatch,
} from '../../../src/runtime/netns/plan.ts';
import { loadTopology } from '../../../src/topology/load.ts';
import { root } from './support.ts';

/** The pure part of the netns driver: names, the ip batches, the host's private filesystem. Needs no root. */

const topology = await loadTopology(path.join(root, 'topologies/seed-cascade.yaml'));
const plan = planNetns(topology, 'r1a2', 4242);

test('every namespace of a run carries the run id and owner pid, and parses back', (t) => {
  const names = namespacesOf(plan);
  t.is(names.length, topology.hosts.length + 1);
  t.is(new Set(names).size, names.length);
  for (const name of names) {
    t.true(name.startsWith('sockslab-r1a2-p4242-'));
    t.like(parseNamespace(name), { runId: 'r1a2', ownerPid: 4242 });
  }
  t.is(parseNamespace('docker-ns'), null);
  t.is(parseNamespace('sockslab-no-pid'), null);
});

test('run ids and host names that are not name-safe are made safe and stay distinct per host', (t) => {
  t.is(runPrefix('a/b c', 1), 'sockslab-a_b_c-p1-');
  const odd = planNetns(
    {
      ...topology,
      hosts: [
        { ...topology.hosts[0]!, name: 'web 1' },
        { ...topology.hosts[1]!, name: 'web/1' },
      ],
    },
    'x',
    1,
  );
  const [a, b] = odd.hosts.map((h) => h.namespace);
  t.not(a, b);
  t.false(/[ /]/.test(`${a}${b}`));
});

test('interfaces are eth<k> inside a host, switch ports and bridges fit the 15-character limit', (t) => {
  const b = plan.hosts.find((h) => h.host === 'B');
  t.deepEqual(
    b?.links.map((l) => [l.ifname, l.network, l.cidr]),
    [
      ['eth0', 'lan', '10.1.0.1/24'],
      ['eth1', 'dmz', '10.2.0.2/24'],
    ],
  );
  for (const h of plan.hosts) for (const l of h.links) t.true(l.port.length <= 15 && l.bridge.length <= 15);
});

test('the batches create namespaces, bridges and veths, and never a route', (t) => {
  const all = [
    ...addNamespacesBatch(plan),
    ...switchBridgesBatch(plan),
    ...plan.hosts.flatMap((h) => hostBatch(plan, h)),
    ...switchPortsBatch(plan),
  ];
  t.false(
    all.some((l) => /\broute\b/.test(l)),
    'no host gets a default (or any explicit) route',
  );
  t.is(
    addNamespacesBatch(plan)[0],
    `netns add ${plan.switchNamespace}`,
    'the switch exists before hosts send peers',
  );
  const c = plan.hosts.find((h) => h.host === 'C');
  t.deepEqual(c && hostBatch(plan, c), [
    'link set lo up',
    `link add eth0 type veth peer name ${c?.links[0]?.port} netns ${plan.switchNamespace}`,
    'addr add 10.1.0.10/24 dev eth0',
    'link set eth0 up',
  ]);
  t.is(switchBridgesBatch(plan).filter((l) => l.includes('type bridge')).length, topology.networks.length);
  t.is(
    switchPortsBatch(plan).filter((l) => l.includes('master')).length,
    topology.hosts.reduce((n, h) => n + h.interfaces.length, 0),
  );
});

test('a host writes its files on a private overlay of their top directory, never in / or a kernel filesystem', (t) => {
  const exists = (d: string) => ['/etc', '/srv'].includes(d);
  const f = (p: string) => ({ path: p, text: '', mode: 0o644 });
  t.is(topDirectory('/etc/sockd/x.users'), '/etc');
  t.is(topDirectory('/x'), null);
  t.deepEqual(overlayDirectories('h', [f('/etc/sockslab/hosts'), f('/srv/u/list'), f('/tmp/a')], exists), [
    '/etc',
    '/srv',
  ]);
  for (const bad of ['/users', '/proc/x/y', '/nope/list', '/app/dist/x']) {
    t.throws(() => overlayDirectories('h', [f(bad)], exists), { code: 'E_NETNS_FILE_PATH' }, bad);
  }
});

test('the agent script turns forwarding off, isolates /tmp and the overlays, and execs the agent last', (t) => {
  const lines = agentScript(['/etc', '/srv']).split('\n');
  t.is(lines[0], 'set -e');
  t.true(lines.includes('echo 0 > /proc/sys/net/ipv4/ip_forward'));
  t.true(lines.some((l) => l.startsWith('mount -t tmpfs') && l.endsWith(' /tmp')));
  t.is(lines.filter((l) => l.startsWith('mount -t overlay')).length, 2);
  t.true(lines.includes('mount -o remount,bind,ro /app'));
  t.regex(lines.at(-1) ?? '', /^exec "\$2" \/app\/dist\/cli\/host-agent\.js serve$/);
});
