import type { TestFn } from 'ava';
import type { DockerLab } from '../../../src/runtime/docker/index.ts';
import { dockerEngine, dockerRuntime, listRuns } from '../../../src/runtime/docker/index.ts';
import { eventually } from '../../helpers/eventually.ts';
import { assertNothingLeft, dockerTest, echoTopology } from './support.ts';

const test = (await dockerTest()) as TestFn<{ lab: DockerLab }>;
const topology = echoTopology('dk-lab', 10, 3, 1);

test.before(async (t) => {
  t.context.lab = (await dockerRuntime.up(topology)) as DockerLab;
});

test.after.always(async (t) => {
  const lab = t.context.lab;
  if (!lab) return;
  await lab.down();
  const left = (await listRuns(await dockerEngine())).filter((r) => r.runId === lab.runId);
  t.deepEqual(left, [], 'the run left containers or networks behind');
  await assertNothingLeft(t);
});

test.serial(
  'each host is a container on exactly its topology networks at its topology addresses',
  async (t) => {
    const { lab } = t.context;
    const docker = (await dockerEngine()).dockerode;
    for (const host of topology.hosts) {
      const info = await docker.getContainer(lab.containerId(host.name)).inspect();
      const networks = info.NetworkSettings.Networks;
      const expected = Object.fromEntries(host.interfaces.map((i) => [lab.networkOf(i.network), i.address]));
      const actual = Object.fromEntries(Object.entries(networks).map(([name, n]) => [name, n.IPAddress]));
      t.deepEqual(actual, expected, `host ${host.name}`);
      t.false('bridge' in networks, `host ${host.name} is on Docker's default bridge`);
      t.is(info.Config.Hostname, host.name);
    }
  },
);

test.serial('every network is internal with the topology subnet', async (t) => {
  const { lab } = t.context;
  const docker = (await dockerEngine()).dockerode;
  for (const n of topology.networks) {
    const info = await docker.getNetwork(lab.networkOf(n.name)).inspect();
    t.true(info.Internal, `network ${n.name} is not internal`);
    t.is(info.IPAM?.Config?.[0]?.Subnet, n.subnet);
    t.is(info.Labels?.['sockslab.lab'], 'true');
    t.is(info.Labels?.['sockslab.run'], lab.runId);
  }
});

test.serial('ip forwarding is off inside every host, the multi-homed one included', async (t) => {
  const { lab } = t.context;
  const docker = (await dockerEngine()).dockerode;
  for (const host of topology.hosts) {
    const exec = await docker.getContainer(lab.containerId(host.name)).exec({
      Cmd: [
        '/usr/bin/node',
        '-e',
        "process.stdout.write(require('fs').readFileSync('/proc/sys/net/ipv4/ip_forward','utf8'))",
      ],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({});
    const out = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    });
    t.regex(out, /0\n$/, `host ${host.name}`);
  }
});

test.serial(
  'a host reaches an echo service on its own network but not a host on a network it is not on',
  async (t) => {
    const { lab } = t.context;
    const same = await lab.dial('h1', 'alice', {
      host: '10.231.10.10',
      port: 7,
      send: 'ping\n',
      idleMs: 2000,
    });
    t.true(same.ok, same.error);
    t.is(same.received, 'ping\n');
    t.is(same.local?.address, '10.231.10.11');
    const viaDual = await lab.dial('h0', 'alice', {
      host: '10.231.11.99',
      port: 7,
      send: 'far\n',
      idleMs: 2000,
    });
    t.is(viaDual.received, 'far\n');
    const isolated = await lab.dial('h1', 'alice', {
      host: '10.231.11.99',
      port: 7,
      send: 'x',
      timeoutMs: 1_500,
    });
    t.false(isolated.ok);
    // As on a host without a route: the kernel refuses at connect time. A packet dropped on the
    // way would instead end in ETIMEDOUT from the dial's 1.5 s timer. (No bound on the time
    // taken: on a loaded 2-core machine that is noise, not behaviour.)
    t.is(isolated.error, 'ENETUNREACH');
  },
);

test.serial('echo services report each connection as an event tagged with the host', async (t) => {
  const { lab } = t.context;
  await lab.dial('h2', 'alice', { host: '10.231.10.10', port: 7, send: 'abc' });
  // The event comes from the container's agent, on its own time: wait for it, generously.
  const echoOf = () =>
    lab.events().find((e) => e.type === 'echo' && e.host === 'h0' && e.peer.address === '10.231.10.12');
  await eventually(() => echoOf() !== undefined, "h0's echo event for h2", 10_000).catch(() => {});
  const found = echoOf();
  t.truthy(found);
  t.like(found, { type: 'echo', service: 'echo', bytes: 3, local: { address: '10.231.10.10', port: 7 } });
});

test.serial('a stopped host refuses connections and a started one serves again', async (t) => {
  const { lab } = t.context;
  await lab.stopHost('h0');
  const refused = await lab.dial('h1', 'alice', { host: '10.231.10.10', port: 7, send: 'x' });
  t.is(refused.error, 'ECONNREFUSED');
  await lab.startHost('h0');
  const back = await lab.dial('h1', 'alice', { host: '10.231.10.10', port: 7, send: 'again', idleMs: 2000 });
  t.is(back.received, 'again');
});

test.serial('a cut network carries nothing until it is restored', async (t) => {
  const { lab } = t.context;
  await lab.cutNetwork('b');
  const cut = await lab.dial('h0', 'alice', { host: '10.231.11.99', port: 7, send: 'x', timeoutMs: 1_000 });
  t.false(cut.ok);
  await lab.restoreNetwork('b');
  const restored = await lab.dial('h0', 'alice', {
    host: '10.231.11.99',
    port: 7,
    send: 'back',
    idleMs: 2000,
  });
  t.is(restored.received, 'back');
});

test.serial('a user the host does not have is refused before anything runs', async (t) => {
  const { lab } = t.context;
  await t.throwsAsync(() => lab.dial('h1', 'mallory', { host: '10.231.10.10', port: 7 }), {
    code: 'E_LAB_USER',
  });
});

test.serial(
  'with unreachable: timeout, a connect off the host networks hangs until its timer instead of failing at once',
  async (t) => {
    const lab = (await dockerRuntime.up(echoTopology('dk-timeout', 30, 1, 0), {
      unreachable: 'timeout',
    })) as DockerLab;
    try {
      const hung = await lab.dial('h0', 'alice', { host: '10.231.31.99', port: 7, timeoutMs: 700 });
      t.is(hung.error, 'ETIMEDOUT');
      t.true(hung.durationMs >= 600, `failed after ${hung.durationMs} ms`);
    } finally {
      await lab.down();
    }
  },
);
