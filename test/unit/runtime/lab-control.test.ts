import path from 'node:path';
import test from 'ava';
import type { LabEvent } from '../../../src/common/events.ts';
import { controlInfo, controlProbe, startLabControl } from '../../../src/runtime/lab-control.ts';
import { localRuntime } from '../../../src/runtime/local/local-runtime.ts';
import type { Lab, ProbeOutcome } from '../../../src/runtime/runtime.ts';
import { loadTopology } from '../../../src/topology/load.ts';

const seed = path.resolve(import.meta.dirname, '../../../topologies/seed-cascade.yaml');

test('the control endpoint runs probes for holders of the token and nobody else', async (t) => {
  const lab = await localRuntime.up(await loadTopology(seed), { timeouts: { identd: 2000 } });
  t.teardown(() => lab.down());
  const control = await startLabControl(lab);
  t.teardown(() => control.close());
  t.regex(control.url, /^http:\/\/127\.0\.0\.1:\d+$/);

  t.deepEqual(await controlInfo(control), { name: 'seed-cascade', runId: lab.runId, runtime: 'local' });
  await t.throwsAsync(controlInfo({ url: control.url, token: 'guess' }), { message: 'bad token' });

  const result = await controlProbe(control, {
    from: 'C',
    user: 'x',
    protocol: 'socks4',
    command: 'connect',
    target: { host: 'z', port: 7 },
    send: 'via control',
  });
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

test("a probe's events that trail its outcome by longer than a moment are still in the answer", async (t) => {
  // A lab whose first hop reports its session 400 ms after the probe's outcome, as a loaded
  // machine (or an agent forwarding over a channel) does: the endpoint waits for the probe's
  // chain to be complete instead of a fixed 150 ms.
  const topology = await loadTopology(seed);
  const probeLocal = { address: '10.1.0.10', port: 40000 };
  const hop = { t: 1, host: 'B', service: 'rsockd', session: '1' } as const;
  const late: LabEvent[] = [
    {
      ...hop,
      type: 'request',
      client: probeLocal,
      local: { address: '10.1.0.1', port: 1080 },
      version: 4,
      command: 'connect',
      dst: { host: '10.2.0.1', port: 7 },
      user: 'x',
    } as LabEvent,
    {
      ...hop,
      type: 'close',
      bytesFromClient: 0,
      bytesFromRemote: 0,
      durationMs: 1,
      reason: 'refused',
    } as LabEvent,
  ];
  const events: LabEvent[] = [];
  const outcome: ProbeOutcome = {
    reply: 91,
    protocol: 'socks4',
    received: '',
    local: probeLocal,
    durationMs: 1,
  };
  const lab = {
    topology,
    runId: 'r1',
    runtime: 'local',
    events: () => events,
    probe: async () => {
      setTimeout(() => events.push(...late), 400);
      return outcome;
    },
  } as unknown as Lab;
  const control = await startLabControl(lab);
  t.teardown(() => control.close());
  const result = await controlProbe(control, {
    from: 'C',
    user: 'x',
    protocol: 'socks4',
    command: 'connect',
    target: { host: 'z', port: 7 },
  });
  t.is(result.outcome.reply, 91);
  t.deepEqual(
    result.events.map((e) => e.type),
    ['request', 'close'],
  );
});
