import { join } from 'node:path';
import test from 'ava';
import { checkTopology } from '../../../src/analysis/check.ts';
import { predictRequest } from '../../../src/analysis/predict.ts';
import { LabWorld } from '../../../src/analysis/world.ts';
import type { ProbeRequest } from '../../../src/runtime/runtime.ts';
import { parseScenarioText } from '../../../src/scenario/load.ts';
import { resolveScenario } from '../../../src/scenario/resolve.ts';
import { resolveLinkFault } from '../../../src/topology/link-faults.ts';
import { loadTopologyWithConfigs } from '../../../src/topology/load.ts';

const file = join(import.meta.dirname, '../../../topologies/dmz-failover.yaml');
const { topology, configs } = await loadTopologyWithConfigs(file);
/** The timers of `sockslab run`: identd and upstream connect 1.5 s. */
const world = (...faults: Parameters<typeof resolveLinkFault>[0][]) => {
  const w = new LabWorld(topology, configs);
  for (const f of faults) w.apply({ kind: 'fault', fault: resolveLinkFault(f, topology.hosts) });
  return w;
};
const xToZ: ProbeRequest = {
  from: 'C',
  user: 'x',
  protocol: 'socks4',
  command: 'connect',
  target: { host: 'z', port: 7 },
  useSocksConf: true,
  timeoutMs: 6000,
};
const attempts = (p: Awaited<ReturnType<typeof predictRequest>>) =>
  p.hops[0]?.route?.attempts.map((a) => [a.server, a.ok]);

test('a first upstream slower than the connect timer is predicted to fail over; one well within it is kept', async (t) => {
  const slow = await predictRequest(world({ host: 'A1', network: 'dmz', delay: 1200 }), xToZ);
  t.deepEqual(slow.path, ['C', 'R', 'A2', 'z']);
  t.deepEqual(attempts(slow), [
    ['10.60.1.11', false],
    ['10.60.1.12', true],
  ]);
  t.is(slow.undecided, undefined);
  const fine = await predictRequest(world({ host: 'A1', network: 'dmz', delay: 200 }), xToZ);
  t.deepEqual(fine.path, ['C', 'R', 'A1', 'z']);
});

test('a delay too near a timer is not guessed: the prediction says it cannot tell', async (t) => {
  // 2 × 700 ms = 1.4 s against the 1.5 s upstream connect timer.
  const p = await predictRequest(world({ host: 'A1', network: 'dmz', delay: 700 }), xToZ);
  t.deepEqual(p.undecided, ['connect takes 1400 ms (link delay), too near the 1500 ms timer to say']);
});

test('cut, reset and a one-way drop decide reachability; moderate loss changes nothing', async (t) => {
  for (const f of [
    { host: 'A1', network: 'dmz', cut: true as const },
    { host: 'A1', network: 'dmz', port: 1080, reset: true as const },
    { from: 'A1', to: 'R', drop: true as const },
    { from: 'R', to: 'A1', drop: true as const },
  ]) {
    const p = await predictRequest(world(f), xToZ);
    t.deepEqual(p.path, ['C', 'R', 'A2', 'z'], JSON.stringify(f));
  }
  const lossy = await predictRequest(world({ host: 'R', network: 'lan', loss: 30 }), xToZ);
  t.deepEqual([lossy.reply, lossy.path], [90, ['C', 'R', 'A1', 'z']]);
});

test('an identd slower than the identd timer makes the strict check refuse 92', async (t) => {
  const p = await predictRequest(world({ host: 'C', port: 113, delay: 1000 }), xToZ);
  t.is(p.reply, 92);
  t.is(p.hops[0]?.identd?.verdict, 'unavailable');
  const cut = await predictRequest(world({ host: 'C', port: 113, direction: 'in', drop: true }), xToZ);
  t.is(cut.reply, 92);
});

test('check follows fault steps and puts them back after each case, as the runner does', async (t) => {
  const text = `topology: dmz-failover
cases:
  - name: slow A1
    from: C
    user: x
    connect: z:7
    steps: [{ fault: { host: A1, network: dmz, delay: 1200ms } }]
    expect: { path: [C, R, A2, z] }
  - name: A1 back to normal
    from: C
    user: x
    connect: z:7
    expect: { path: [C, R, A1, z] }
  - name: near the timer
    from: C
    user: x
    connect: z:7
    steps: [{ fault: { host: A1, network: dmz, delay: 700ms } }]
    expect: { path: [C, R, A1, z] }
`;
  const scenario = resolveScenario(parseScenarioText(text, 's.yaml'), topology);
  const result = await checkTopology(topology, configs, scenario.cases);
  t.deepEqual(
    result.cases.map((c) => [
      c.case.name,
      c.prediction.path.join(' '),
      c.contradictions.length,
      c.prediction.undecided?.length ?? 0,
    ]),
    [
      ['slow A1', 'C R A2 z', 0, 0],
      ['A1 back to normal', 'C R A1 z', 0, 0],
      ['near the timer', 'C R A1 z', 0, 1],
    ],
  );
});
