import path from 'node:path';
import type { TestFn } from 'ava';
import { execa } from 'execa';
import type { LabEvent } from '../../../src/common/events.ts';
import { processAlive } from '../../../src/common/process-alive.ts';
import { type NetnsLab, netnsRuntime } from '../../../src/runtime/netns/index.ts';
import type { ProbeRequest } from '../../../src/runtime/runtime.ts';
import { loadTopology } from '../../../src/topology/load.ts';
import { settled } from '../../helpers/lab-events.ts';
import {
  cmdlineOf,
  namespacesWith,
  netnsTest,
  pidsIn,
  processesOfRun,
  root,
  shortTimeouts,
  uidOf,
} from './support.ts';

/** rsockd(8) / spec g.7 on real namespaces: x on C → rsockd on B → sockd on A → z. */

const test = (await netnsTest()) as TestFn<{ lab: NetnsLab; sunk: LabEvent[] }>;
const topology = await loadTopology(path.join(root, 'topologies/seed-cascade.yaml'));

type Of<T extends LabEvent['type']> = Extract<LabEvent, { type: T }>;
const pick = <T extends LabEvent['type']>(events: readonly LabEvent[], type: T, host: string) =>
  events.filter((e): e is Of<T> => e.type === type && e.host === host);

const throughB: ProbeRequest = {
  from: 'C',
  user: 'x',
  useSocksConf: true,
  protocol: 'socks4',
  command: 'connect',
  target: { host: 'z', port: 7 },
  send: 'hello',
};

test.before(async (t) => {
  const sunk: LabEvent[] = [];
  t.context.sunk = sunk;
  t.context.lab = (await netnsRuntime.up(topology, {
    timeouts: shortTimeouts,
    events: { emit: (e) => sunk.push(e) },
  })) as NetnsLab;
});

test.after.always('down() leaves no namespace and no process of the lab behind', async (t) => {
  const { lab } = t.context;
  if (!lab) return;
  // Every process that ran in any of the lab's namespaces (agents, servers) must be gone after down.
  const pids = (await Promise.all(lab.plan.hosts.map((h) => pidsIn(h.namespace)))).flat();
  const agents = lab.agentPids();
  t.true(agents.length === topology.hosts.length, 'one agent per host');
  t.true((await processesOfRun(lab.runId)).length >= agents.length);
  await lab.down();
  t.deepEqual(await processesOfRun(lab.runId), []);
  t.deepEqual(await namespacesWith(lab.plan.prefix), []);
  t.deepEqual(
    [...pids, ...agents].filter((p) => processAlive(p)),
    [],
  );
});

test.serial(
  'every host sits in its own namespace at its topology addresses, without a default route',
  async (t) => {
    const { lab } = t.context;
    const namespaces = await namespacesWith(lab.plan.prefix);
    t.is(namespaces.length, topology.hosts.length + 1, 'a namespace per host plus the switch');
    for (const host of topology.hosts) {
      const ns = lab.namespaceOf(host.name);
      t.true(namespaces.includes(ns));
      const { stdout } = await execa('ip', ['-n', ns, '-j', 'addr', 'show']);
      const addrs = (JSON.parse(stdout) as { addr_info?: { family: string; local: string }[] }[])
        .flatMap((l) => l.addr_info ?? [])
        .filter((a) => a.family === 'inet' && a.local !== '127.0.0.1')
        .map((a) => a.local)
        .sort();
      t.deepEqual(addrs, host.interfaces.map((i) => i.address).sort(), `host ${host.name}`);
      const routes = await execa('ip', ['-n', ns, 'route', 'show', 'default']);
      t.is(routes.stdout.trim(), '', `host ${host.name} has a default route`);
      const forward = await execa('ip', ['netns', 'exec', ns, 'cat', '/proc/sys/net/ipv4/ip_forward']);
      t.is(forward.stdout.trim(), '0', `host ${host.name} forwards packets`);
    }
  },
);

test.serial('each server runs as its owner uid inside its host', async (t) => {
  const { lab } = t.context;
  for (const [host, script, uid] of [
    ['B', 'rsockd.js', 65534],
    ['A', 'sockd.js', 0],
  ] as const) {
    const pids = await pidsIn(lab.namespaceOf(host));
    const found: { pid: number; uid: number | null }[] = [];
    for (const pid of pids)
      if ((await cmdlineOf(pid)).includes(script)) found.push({ pid, uid: await uidOf(pid) });
    t.is(found.length, 1, `one ${script} on ${host}`);
    t.is(found[0]?.uid, uid, `${script} on ${host}`);
  }
});

test.serial('x on C is granted through B and A to z, and B hears x from identd on C', async (t) => {
  const { lab } = t.context;
  const mark = lab.events().length;
  const outcome = await lab.probe(throughB);
  const events = await settled(lab, mark, outcome);
  t.is(outcome.reply, 90);
  t.is(outcome.received, 'hello');
  t.deepEqual(outcome.clientRoute, { action: 'sockd', line: 1 });
  t.is(outcome.local?.address, '10.1.0.10');
  const atB = pick(events, 'identd', 'B');
  t.is(atB.length, 1);
  t.like(atB[0], { user: 'x', verdict: 'confirmed', queried: { address: '10.1.0.10', port: 113 } });
  // The probe ran as uid 1001, so C's identd found x in C's own /proc/net/tcp.
  t.regex(pick(events, 'identd-served', 'C')[0]?.answer ?? '', /USERID : UNIX : x$/);
  t.is(pick(events, 'request', 'A')[0]?.client.address, '10.2.0.2', 'A sees the request coming from B');
  t.is(pick(events, 'echo', 'z')[0]?.peer.address, '198.51.100.1', 'z sees A');
  t.true(
    events.every((e) => typeof e.host === 'string' && e.host.length > 0),
    'every event is tagged with its host',
  );
  t.deepEqual(t.context.sunk, lab.events(), 'the events sink of up() saw every event, in order');
});

test.serial(
  "A's identd query to B is answered with B's rsockd owner, so A refuses and C gets 91",
  async (t) => {
    const { lab } = t.context;
    const mark = lab.events().length;
    const outcome = await lab.probe({
      ...throughB,
      useSocksConf: false,
      via: 'B',
      target: { host: '198.51.100.10', port: 80 },
      send: 'GET / HTTP/1.0\r\n\r\n',
    });
    const events = await settled(lab, mark, outcome);
    t.is(outcome.reply, 91);
    t.is(pick(events, 'identd', 'B')[0]?.user, 'x');
    t.like(pick(events, 'identd', 'A')[0], {
      user: 'nobody',
      verdict: 'mismatch',
      queried: { address: '10.2.0.2', port: 113 },
    });
    t.regex(pick(events, 'identd-served', 'B')[0]?.answer ?? '', /USERID : UNIX : nobody$/);
    t.is(pick(events, 'reply', 'A')[0]?.code, 93);
  },
);

test.serial(
  'a host is unreachable from a network it does not share, tried from inside a namespace',
  async (t) => {
    const { lab } = t.context;
    const toA = await lab.dial('C', 'x', { host: '10.2.0.1', port: 1080, send: 'x', timeoutMs: 1500 });
    t.false(toA.ok);
    t.regex(toA.error ?? '', /ENETUNREACH|EHOSTUNREACH|ETIMEDOUT/);
    const toZ = await lab.dial('B', 'root', { host: '198.51.100.10', port: 7, send: 'x', timeoutMs: 1500 });
    t.false(toZ.ok, 'B is multi-homed but A does not route for it (ip_forward 0, no routes)');
    const onLan = await lab.dial('C', 'x', { host: '10.1.0.1', port: 1080 });
    t.true(onLan.ok, onLan.error);
  },
);

test.serial('a stopped host refuses, a started one serves again', async (t) => {
  const { lab } = t.context;
  await lab.stopHost('z');
  t.false(lab.host('z').running);
  const refused = await lab.dial('A', 'root', { host: '198.51.100.10', port: 7, send: 'x' });
  t.is(refused.error, 'ECONNREFUSED');
  await lab.startHost('z');
  const back = await lab.dial('A', 'root', { host: '198.51.100.10', port: 7, send: 'again', idleMs: 2000 });
  t.is(back.received, 'again');
});

test.serial('a lying identd on C makes B refuse x', async (t) => {
  const { lab } = t.context;
  await lab.setIdentd('C', { kind: 'lying', user: 'mallory' });
  try {
    const mark = lab.events().length;
    const outcome = await lab.probe(throughB);
    t.not(outcome.reply, 90);
    t.like(pick(await settled(lab, mark, outcome), 'identd', 'B')[0], { user: 'mallory' });
  } finally {
    await lab.setIdentd('C', { kind: 'truthful' });
  }
  t.is((await lab.probe(throughB)).reply, 90);
});

test.serial('replaceConfig reloads good text and keeps the old rules on bad text', async (t) => {
  const { lab } = t.context;
  const original = topology.hosts.find((h) => h.name === 'B')?.server?.sockdConf.text ?? '';
  try {
    const bad = await lab.replaceConfig('B', 'sockd.conf', 'allow everything\n');
    t.false(bad.reloaded);
    t.regex(bad.error ?? '', /Invalid|action/);
    t.is((await lab.probe(throughB)).reply, 90, 'the old rules still grant x');
    const deny = await lab.replaceConfig('B', 'sockd.conf', 'deny 0.0.0.0 0.0.0.0\n');
    t.true(deny.reloaded, deny.error);
    t.is((await lab.probe(throughB)).reply, 91);
  } finally {
    await lab.replaceConfig('B', 'sockd.conf', original);
  }
  t.is((await lab.probe(throughB)).reply, 90);
});

test.serial('a replaced config survives stopping and starting its host', async (t) => {
  const { lab } = t.context;
  const original = topology.hosts.find((h) => h.name === 'B')?.server?.sockdConf.text ?? '';
  try {
    t.true((await lab.replaceConfig('B', 'sockd.conf', 'deny 0.0.0.0 0.0.0.0\n')).reloaded);
    await lab.stopHost('B');
    await lab.startHost('B');
    t.is((await lab.probe(throughB)).reply, 91);
  } finally {
    await lab.replaceConfig('B', 'sockd.conf', original);
  }
  t.is((await lab.probe(throughB)).reply, 90);
});

test.serial('a cut network fails connects at once until it is restored', async (t) => {
  const { lab } = t.context;
  await lab.cutNetwork('dmz');
  const cut = await lab.dial('B', 'root', { host: '10.2.0.1', port: 1080, timeoutMs: 1000 });
  t.false(cut.ok);
  t.is(cut.error, 'ENETUNREACH', 'a pulled cable fails at once');
  t.is((await lab.probe(throughB)).reply, 91, 'B cannot reach its upstream A and refuses');
  await lab.restoreNetwork('dmz');
  const restored = await lab.dial('B', 'root', { host: '10.2.0.1', port: 1080, timeoutMs: 10_000 });
  t.true(restored.ok, restored.error);
  t.is((await lab.probe(throughB)).reply, 90);
});

test.serial('a user the host does not have is refused before anything runs', async (t) => {
  const { lab } = t.context;
  await t.throwsAsync(() => lab.probe({ ...throughB, user: 'mallory' }), { code: 'E_LAB_USER' });
});
