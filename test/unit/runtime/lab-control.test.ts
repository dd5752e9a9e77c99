import path from 'node:path';
import test from 'ava';
import { controlInfo, controlProbe, startLabControl } from '../../../src/runtime/lab-control.ts';
import { localRuntime } from '../../../src/runtime/local/local-runtime.ts';
import { missingRequestEvents } from '../../../src/runtime/request-events.ts';
import type { Lab } from '../../../src/runtime/runtime.ts';
import { loadTopology } from '../../../src/topology/load.ts';

const seed = path.resolve(import.meta.dirname, '../../../topologies/seed-cascade.yaml');

/** x on C sends `text` through the cascade to the echo service on z. */
const xToEcho = (text: string) =>
  ({
    from: 'C',
    user: 'x',
    protocol: 'socks4',
    command: 'connect',
    target: { host: 'z', port: 7 },
    send: text,
  }) as const;

test('the control endpoint runs probes for holders of the token and nobody else', async (t) => {
  const lab = await localRuntime.up(await loadTopology(seed), { timeouts: { identd: 2000 } });
  t.teardown(() => lab.down());
  const control = await startLabControl(lab);
  t.teardown(() => control.close());
  t.regex(control.url, /^http:\/\/127\.0\.0\.1:\d+$/);

  t.deepEqual(await controlInfo(control), { name: 'seed-cascade', runId: lab.runId, runtime: 'local' });
  await t.throwsAsync(controlInfo({ url: control.url, token: 'guess' }), { message: 'bad token' });

  const result = await controlProbe(control, xToEcho('via control'));
  t.is(result.outcome.reply, 90);
  t.is(result.outcome.received, 'via control');
  t.true(result.events.some((e) => e.type === 'echo' && e.host === 'z'));
  t.true(result.events.every((e) => typeof e.host === 'string'));

  await t.throwsAsync(
    controlProbe(control, {
      from: 'Q',
      user: 'x',
      protocol: 'socks4',
      command: 'connect',
      target: { host: 'z', port: 7 },
    }),
    { message: /unknown host `Q`/ },
  );
});

test('a control URL that is not on 127.0.0.1 is never called', async (t) => {
  await t.throwsAsync(controlInfo({ url: 'http://192.0.2.1:80', token: 'x' }), { code: 'E_LAB_CONTROL' });
});

/** The lab seen through a log that shows each event only `lagMs` after it was first there. */
function lagging(lab: Lab, lagMs: number): Lab {
  const seenAt: number[] = [];
  const events = () => {
    const all = lab.events();
    const now = Date.now();
    for (let i = seenAt.length; i < all.length; i++) seenAt.push(now);
    const shown = seenAt.findIndex((at) => now - at < lagMs);
    return shown === -1 ? all : all.slice(0, shown);
  };
  return new Proxy(lab, {
    get(target, key) {
      if (key === 'events') return events;
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

test('a probe through the control endpoint returns its events once its chain is complete, however late they come', async (t) => {
  const lab = await localRuntime.up(await loadTopology(seed), { timeouts: { identd: 2000 } });
  t.teardown(() => lab.down());
  // Events trailing their probe by 400 ms, as on a loaded machine: a fixed settle would cut them.
  const control = await startLabControl(lagging(lab, 400));
  t.teardown(() => control.close());
  const result = await controlProbe(control, xToEcho('late'));
  t.is(result.outcome.reply, 90);
  t.truthy(result.outcome.local, 'the probe connected from a local endpoint');
  t.deepEqual(missingRequestEvents(result.events, lab.topology, result.outcome), []);
  t.true(result.events.some((e) => e.type === 'echo' && e.host === 'z'));
});
