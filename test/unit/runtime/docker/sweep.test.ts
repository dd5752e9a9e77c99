import test from 'ava';
import type { DockerEngine } from '../../../../src/runtime/docker/engine.ts';
import { removeByFilter, removeNetworkWhenFree } from '../../../../src/runtime/docker/sweep.ts';

// The engine releases a killed container's endpoints when it handles the exit, which may come
// after the container's removal has returned; CI once saw a lab's teardown fail on it (HTTP 403,
// "network … has active endpoints") after every case had passed.

function engineError(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message}`), { statusCode });
}

const noDisconnect = async () => {
  throw new Error('not expected');
};

test('a network still holding a removed container endpoint is removed once the engine lets go', async (t) => {
  let calls = 0;
  await removeNetworkWhenFree(
    {
      name: 'x',
      remove: async () => {
        calls++;
        if (calls < 3)
          throw engineError(403, 'error while removing network: network x id y has active endpoints');
      },
      disconnect: noDisconnect,
    },
    ['lab-a'],
  );
  t.is(calls, 3);
});

test('an endpoint that outlives its container is disconnected by force, by the names of the run containers on it', async (t) => {
  const disconnected: string[] = [];
  const network = {
    name: 'x',
    remove: async () => {
      if (disconnected.length < 2) throw engineError(403, 'network x id y has active endpoints');
    },
    disconnect: async (o: { Container: string; Force: boolean }) => {
      t.true(o.Force);
      disconnected.push(o.Container);
      if (o.Container === 'lab-b') throw engineError(404, 'endpoint lab-b not found');
    },
  };
  await removeNetworkWhenFree(network, ['lab-a', 'lab-b'], 5_000);
  t.deepEqual(disconnected.sort(), ['lab-a', 'lab-b']);
});

test('a network that is already gone counts as removed, and any other refusal is passed on at once', async (t) => {
  let calls = 0;
  await removeNetworkWhenFree(
    {
      name: 'x',
      remove: async () => {
        calls++;
        throw engineError(404, 'network x not found');
      },
      disconnect: noDisconnect,
    },
    [],
  );
  t.is(calls, 1);
  calls = 0;
  const err = await t.throwsAsync(
    removeNetworkWhenFree(
      {
        name: 'x',
        remove: async () => {
          calls++;
          throw engineError(500, 'something else');
        },
        disconnect: noDisconnect,
      },
      [],
    ),
  );
  t.regex(err?.message ?? '', /something else/);
  t.is(calls, 1);
});

test('endpoints that are never released end the wait with the engine error', async (t) => {
  const err = await t.throwsAsync(
    removeNetworkWhenFree(
      {
        name: 'x',
        remove: async () => {
          throw engineError(403, 'network x has active endpoints');
        },
        disconnect: async () => {},
      },
      ['lab-a'],
      200,
    ),
  );
  t.regex(err?.message ?? '', /active endpoints/);
});

/**
 * A fake engine for a whole teardown: each endpoint release (a disconnect, or the removal of a
 * container still holding endpoints) takes a few milliseconds, and releases that overlap on one
 * network are recorded — dockerd 20.10 can lose that network's endpoint count (moby/moby#42119).
 */
function fakeLabEngine(hosts: Record<string, readonly string[]>) {
  const endpoints = new Map(Object.entries(hosts).map(([id, nets]) => [id, new Set(nets)]));
  const networkIds = [...new Set(Object.values(hosts).flat())];
  const busy = new Map<string, number>();
  const overlaps = new Set<string>();
  const removedNetworks: string[] = [];
  const release = async (network: string) => {
    const n = (busy.get(network) ?? 0) + 1;
    busy.set(network, n);
    if (n > 1) overlaps.add(network);
    await new Promise((r) => setTimeout(r, 2 + Math.floor(Math.random() * 3)));
    busy.set(network, (busy.get(network) ?? 1) - 1);
  };
  let listedNetworks = 0;
  const dockerode = {
    listContainers: async () =>
      [...endpoints.keys()].map((id) => ({
        Id: id,
        Names: [`/lab-${id}`],
        NetworkSettings: {
          Networks: Object.fromEntries((hosts[id] ?? []).map((n) => [n, { NetworkID: n }])),
        },
      })),
    listNetworks: async () => (listedNetworks++ === 0 ? networkIds.map((Id) => ({ Id, Name: Id })) : []),
    getContainer: (id: string) => ({
      remove: async () => {
        const held = [...(endpoints.get(id) ?? [])];
        endpoints.delete(id);
        await Promise.all(held.map(release));
      },
    }),
    getNetwork: (network: string) => ({
      disconnect: async ({ Container }: { Container: string }) => {
        if (!endpoints.get(Container)?.delete(network)) throw engineError(404, 'not connected');
        await release(network);
      },
      remove: async () => {
        if ([...endpoints.values()].some((nets) => nets.has(network)))
          throw engineError(403, `network ${network} has active endpoints`);
        removedNetworks.push(network);
      },
    }),
  };
  return { engine: { dockerode } as unknown as DockerEngine, overlaps, removedNetworks, endpoints };
}

test("a lab's teardown never releases two endpoints of one network at once, and removes everything", async (t) => {
  const hosts: Record<string, string[]> = {
    dept: ['lan', 'dmz'],
    site: ['dmz', 'outside'],
    ...Object.fromEntries([0, 1, 2, 3, 4].map((i) => [`c${i}`, ['lan']])),
    ...Object.fromEntries([0, 1, 2].map((i) => [`z${i}`, ['outside']])),
  };
  const fake = fakeLabEngine(hosts);
  let afterKill = 0;
  const removed = await removeByFilter(fake.engine, 'sockslab.run=r1', async () => {
    afterKill++;
  });
  t.deepEqual([...fake.overlaps], []);
  t.deepEqual(removed, { containers: 10, networks: 3 });
  t.is(fake.endpoints.size, 0);
  t.deepEqual(fake.removedNetworks.sort(), ['dmz', 'lan', 'outside']);
  t.is(afterKill, 1);
});
