import test from 'ava';
import { removeNetworkWhenFree } from '../../../../src/runtime/docker/sweep.ts';

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
