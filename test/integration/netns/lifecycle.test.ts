import path from 'node:path';
import type { TestFn } from 'ava';
import { execa } from 'execa';
import { newId } from '../../../src/common/ids.ts';
import { processAlive } from '../../../src/common/process-alive.ts';
import {
  createNetnsRuntime,
  listNetnsRuns,
  type NetnsLab,
  netnsRuntime,
  reapNetnsRuns,
} from '../../../src/runtime/netns/index.ts';
import { runPrefix } from '../../../src/runtime/netns/names.ts';
import { loadTopology } from '../../../src/topology/load.ts';
import type { ResolvedTopology } from '../../../src/topology/model.ts';
import { configText } from '../../helpers/config-text.ts';
import { namespacesWith, netnsTest, processesOfRun, root, shortTimeouts } from './support.ts';

/** Lab lifecycles on real namespaces: BIND across namespaces, failed starts, leftovers of dead runs. */

const test = (await netnsTest()) as TestFn;

test.serial(
  'BIND on the multi-homed fw listens on the interface facing each peer, which connects back',
  async (t) => {
    const topology = await loadTopology(path.join(root, 'topologies/multihomed-bind.yaml'));
    const lab = (await netnsRuntime.up(topology, { timeouts: shortTimeouts })) as NetnsLab;
    try {
      for (const [peer, iface] of [
        ['ftp', '192.0.2.1'],
        ['mirror', '172.16.0.1'],
      ] as const) {
        const outcome = await lab.probe({
          from: 'C',
          user: 'x',
          useSocksConf: true,
          protocol: 'socks4',
          command: 'bind',
          target: { host: lab.host(peer).address(), port: 20 },
          bindPeer: { from: peer },
          send: `data from ${peer}\n`,
        });
        t.is(outcome.reply, 90, peer);
        t.is(outcome.bound?.address, iface, peer);
        t.is(outcome.secondReply, 90, peer);
        t.is(outcome.received, `data from ${peer}\n`, peer);
      }
    } finally {
      await lab.down();
    }
    t.deepEqual(await namespacesWith(lab.plan.prefix), []);
  },
);

const tiny = (name: string, userFile?: string): ResolvedTopology => ({
  name,
  file: path.join(root, `${name}.yaml`),
  networks: [{ name: 'a', subnet: '10.233.1.0/24' }],
  hosts: [
    {
      name: 'e',
      role: 'echo',
      interfaces: [{ network: 'a', address: '10.233.1.10' }],
      users: [{ name: 'root', uid: 0 }],
      echo: [{ port: 7, kind: 'echo' }],
    },
    {
      name: 's',
      role: 'sockd',
      interfaces: [{ network: 'a', address: '10.233.1.1' }],
      users: [{ name: 'root', uid: 0 }],
      server: {
        kind: 'sockd',
        owner: 'root',
        port: 1080,
        identdDefault: 'off',
        socks5: false,
        sockdConf: configText('sockd.conf', 'permit 0.0.0.0 0.0.0.0\n', {
          file: 'inline',
          line: 1,
          column: 1,
          inline: true,
        }),
        userFiles: userFile ? [{ path: userFile, text: 'x\n' }] : [],
        upstreamPort: 1080,
        identdPort: 113,
      },
    },
  ],
});

test.serial('with unreachable: timeout a cut network silently drops packets until restored', async (t) => {
  const lab = (await netnsRuntime.up(tiny('nx-cut'), { unreachable: 'timeout' })) as NetnsLab;
  try {
    await lab.cutNetwork('a');
    const cut = await lab.dial('s', 'root', { host: '10.233.1.10', port: 7, send: 'x', timeoutMs: 700 });
    t.is(cut.error, 'ETIMEDOUT');
    await lab.restoreNetwork('a');
    const back = await lab.dial('s', 'root', { host: '10.233.1.10', port: 7, send: 'back', idleMs: 2000 });
    t.is(back.received, 'back');
  } finally {
    await lab.down();
  }
});

test.serial(
  'a host the topology marks stopped is up on the network with its services down until started',
  async (t) => {
    const base = tiny('nx-stopped');
    const topology = {
      ...base,
      hosts: base.hosts.map((h) => (h.name === 'e' ? { ...h, stopped: true } : h)),
    };
    const lab = (await netnsRuntime.up(topology)) as NetnsLab;
    try {
      t.false(lab.host('e').running);
      const refused = await lab.dial('s', 'root', { host: '10.233.1.10', port: 7, send: 'x' });
      t.is(refused.error, 'ECONNREFUSED', 'the address answers, the port does not');
      await lab.startHost('e');
      t.true(lab.host('e').running);
      t.is(
        (await lab.dial('s', 'root', { host: '10.233.1.10', port: 7, send: 'up', idleMs: 2000 })).received,
        'up',
      );
    } finally {
      await lab.down();
    }
  },
);

test.serial('a start that fails after the namespaces exist removes them and every process', async (t) => {
  const runId = newId();
  const prefix = runPrefix(runId, process.pid);
  // No agent can be ready within a millisecond: the failure comes after the network is built.
  const impatient = createNetnsRuntime({ readyTimeoutMs: 1 });
  const err = await t.throwsAsync(() => impatient.up(tiny('nx-fail'), { runId }));
  t.regex(err?.message ?? '', /not ready within 1 ms/);
  t.deepEqual(await namespacesWith(prefix), []);
  t.deepEqual(await processesOfRun(runId), []);
});

test.serial('a user file outside any private directory is refused before anything is created', async (t) => {
  const runId = newId();
  const err = await t.throwsAsync(
    () => netnsRuntime.up(tiny('nx-path', '/no-such-top-dir/users'), { runId }),
    {
      code: 'E_NETNS_FILE_PATH',
    },
  );
  t.regex(err?.message ?? '', /host s: file \/no-such-top-dir\/users/);
  t.deepEqual(await namespacesWith(runPrefix(runId, process.pid)), []);
});

test.serial(
  'reap removes the namespaces and processes of dead runs and leaves live runs alone',
  async (t) => {
    // A pid that certainly belongs to no process any more: a child that has exited.
    const dead = (await execa('sh', ['-c', 'echo $$'])).stdout.trim();
    const deadNs = `${runPrefix(newId(), Number(dead))}sw`;
    const liveNs = `${runPrefix(newId(), process.pid)}sw`;
    await execa('ip', ['netns', 'add', deadNs]);
    await execa('ip', ['netns', 'add', liveNs]);
    // A process left running inside the dead run's namespace.
    const sleeper = execa('ip', ['netns', 'exec', deadNs, 'sleep', '60'], { reject: false });
    const sleeperPid = sleeper.pid ?? 0;
    try {
      // `ip netns exec` enters the namespace when it gets the CPU: wait for it there, however long.
      for (const deadline = Date.now() + 10_000; ; ) {
        const inside = await execa('ip', ['netns', 'pids', deadNs], { reject: false });
        if (inside.stdout.trim() !== '') break;
        if (Date.now() > deadline) throw new Error(`the sleeper was not in ${deadNs} within 10 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const before = await listNetnsRuns();
      t.true(before.some((r) => r.namespaces.includes(deadNs) && r.processes === 1));
      const reaped = await reapNetnsRuns();
      const mine = reaped.find((r) => r.namespaces.includes(deadNs));
      t.like(mine, { ownerPid: Number(dead), processes: 1 });
      t.false(
        reaped.some((r) => r.namespaces.includes(liveNs)),
        'a run whose owner lives is kept',
      );
      t.deepEqual(await namespacesWith(deadNs), []);
      t.deepEqual(await namespacesWith(liveNs), [liveNs]);
      await sleeper;
      t.false(processAlive(sleeperPid));
    } finally {
      await execa('ip', ['netns', 'del', liveNs], { reject: false });
      await execa('ip', ['netns', 'del', deadNs], { reject: false });
    }
  },
);
