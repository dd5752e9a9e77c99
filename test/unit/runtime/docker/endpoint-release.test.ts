import test from 'ava';
import {
  type AttachedContainer,
  releaseAndRemove,
  releaseChains,
  releaseSerially,
} from '../../../../src/runtime/docker/endpoint-release.ts';

// dockerd 20.10 can lose a network's endpoint count when two endpoints on it are released at once
// (moby/moby#42119): the lab's teardown must never ask for that.

/** A fake engine whose calls take a few milliseconds and which records what overlapped. */
function fakeEngine(failDisconnect: (network: string, container: string) => boolean = () => false) {
  const busy = new Map<string, number>(); // network → releases in flight
  const overlaps: string[] = [];
  const endpoints = new Map<string, Set<string>>(); // container → networks still attached
  const log: string[] = [];
  let concurrentRemovals = 0;
  let maxConcurrentRemovals = 0;
  const tick = () => new Promise((r) => setTimeout(r, 1 + Math.floor(Math.random() * 4)));
  /** One endpoint release on `network`: recorded when another is in flight there. */
  const release = async (network: string, what: string) => {
    const n = (busy.get(network) ?? 0) + 1;
    busy.set(network, n);
    if (n > 1) overlaps.push(`${network}:${what}`);
    await tick();
    busy.set(network, (busy.get(network) ?? 1) - 1);
  };
  return {
    overlaps,
    endpoints,
    log,
    maxConcurrentRemovals: () => maxConcurrentRemovals,
    attach(containers: readonly AttachedContainer[]) {
      for (const c of containers) endpoints.set(c.id, new Set(c.networks));
    },
    ops: {
      async disconnect(network: string, container: string) {
        if (failDisconnect(network, container)) {
          await tick();
          throw new Error('engine said no');
        }
        await release(network, container);
        endpoints.get(container)?.delete(network);
        log.push(`disconnect ${network} ${container}`);
      },
      // A removal releases whatever endpoints the container still holds.
      async remove(container: string) {
        concurrentRemovals++;
        maxConcurrentRemovals = Math.max(maxConcurrentRemovals, concurrentRemovals);
        const held = [...(endpoints.get(container) ?? [])];
        log.push(`remove ${container} with ${held.join(',') || 'no'} endpoints`);
        await Promise.all([tick(), ...held.map((n) => release(n, `remove ${container}`))]);
        endpoints.delete(container);
        concurrentRemovals--;
      },
    },
  };
}

/** The 10-host bench shape: 5 clients and a dual-homed rsockd on lan, a dual-homed sockd, 3 echo hosts. */
const tenHosts: AttachedContainer[] = [
  ...[0, 1, 2, 3, 4].map((i) => ({ id: `c${i}`, networks: ['lan'] })),
  { id: 'dept', networks: ['lan', 'dmz'] },
  { id: 'site', networks: ['dmz', 'outside'] },
  ...[0, 1, 2].map((i) => ({ id: `z${i}`, networks: ['outside'] })),
];

test('no two endpoints on one network are released at once, and every host is removed without one', async (t) => {
  const engine = fakeEngine();
  engine.attach(tenHosts);
  const removed = releaseAndRemove(tenHosts, engine.ops);
  await Promise.all(removed.values());
  t.deepEqual(engine.overlaps, []);
  t.is(engine.log.filter((l) => l.startsWith('disconnect')).length, 12);
  t.deepEqual(
    engine.log.filter((l) => l.startsWith('remove')).sort(),
    tenHosts.map((c) => `remove ${c.id} with no endpoints`).sort(),
  );
  // Hosts are removed while other networks' releases go on, not one after another.
  t.true(engine.maxConcurrentRemovals() > 1);
});

test('hosts on several networks are released first on each of them', (t) => {
  const chains = releaseChains(tenHosts);
  t.deepEqual(chains.get('lan'), ['dept', 'c0', 'c1', 'c2', 'c3', 'c4']);
  t.deepEqual(chains.get('dmz'), ['dept', 'site']);
  t.deepEqual(chains.get('outside'), ['site', 'z0', 'z1', 'z2']);
});

test('a refused disconnect does not stop the chain: the host is still removed and the next one released', async (t) => {
  const engine = fakeEngine((network, container) => network === 'lan' && container === 'c1');
  engine.attach(tenHosts);
  await Promise.all(releaseAndRemove(tenHosts, engine.ops).values());
  t.true(engine.log.includes('remove c1 with lan endpoints'));
  t.true(engine.log.includes('disconnect lan c2'));
  t.deepEqual(engine.overlaps, []);
});

test('a failed removal rejects that host alone', async (t) => {
  const engine = fakeEngine();
  const removed = releaseAndRemove(tenHosts, {
    ...engine.ops,
    remove: async (id) => {
      if (id === 'z1') throw new Error('cannot remove z1');
      await engine.ops.remove(id);
    },
  });
  const outcomes = await Promise.allSettled(removed.values());
  t.deepEqual(
    outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : [])),
    ['Error: cannot remove z1'],
  );
});

test('cutting a network releases its hosts one after another, in order', async (t) => {
  const engine = fakeEngine();
  engine.attach(tenHosts);
  await releaseSerially('lan', ['c0', 'c1', 'dept'], (id) => engine.ops.disconnect('lan', id));
  t.deepEqual(engine.overlaps, []);
  t.deepEqual(engine.log, ['disconnect lan c0', 'disconnect lan c1', 'disconnect lan dept']);
});

test('a cut still under way when the teardown begins is not overlapped by it on that network', async (t) => {
  const engine = fakeEngine();
  engine.attach(tenHosts);
  const cut = releaseSerially('lan', ['c0', 'c1', 'c2', 'c3', 'c4', 'dept'], (id) =>
    engine.ops.disconnect('lan', id).catch(() => {}),
  );
  const removed = releaseAndRemove(tenHosts, {
    ...engine.ops,
    // the cut may have taken the endpoint already: the engine then says it is not connected
    disconnect: async (network, id) => {
      if (!engine.endpoints.get(id)?.has(network)) throw new Error('not connected');
      await engine.ops.disconnect(network, id);
    },
  });
  await Promise.all([cut, ...removed.values()]);
  t.deepEqual(engine.overlaps, []);
  t.is(engine.endpoints.size, 0);
});
