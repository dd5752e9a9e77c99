import test from 'ava';
import { dial } from '../../../src/runtime/agent/dial.ts';
import { LocalLab } from '../../../src/runtime/local/local-lab.ts';
import { allCases } from '../../../src/scenario/discover.ts';
import { parseScenarioText } from '../../../src/scenario/load.ts';
import { resolveScenario } from '../../../src/scenario/resolve.ts';
import { runCases } from '../../../src/scenario/runner.ts';
import { ScenarioTimeouts } from '../../../src/scenario/timeouts.ts';
import { resolveLinkFault } from '../../../src/topology/link-faults.ts';
import { loadFaultTopology, runFaultKinds } from '../../helpers/link-fault-kinds.ts';

const topology = await loadFaultTopology();

test('every kind of link fault acts on real connections of the virtual network, and heals', async (t) => {
  t.timeout(60_000);
  await using lab = await LocalLab.start(topology, { timeouts: ScenarioTimeouts });
  await runFaultKinds(t, lab, (from, request) => dial(lab.network.netFor(from, 'root'), request));
});

test("a case's fault steps are undone after it unless it says keep: true", async (t) => {
  t.timeout(60_000);
  const text = `topology: dmz-failover
defaults: { timeout: 4s }
cases:
  - name: A1 cut, kept for the next case
    from: C
    user: x
    connect: z:7
    keep: true
    steps: [{ fault: { host: A1, network: dmz, cut: true } }]
    expect: { path: [C, R, A2, z] }
  - name: still cut
    from: C
    user: x
    connect: z:7
    expect: { path: [C, R, A2, z] }
  - name: A2 cut for this case only, after healing A1
    from: C
    user: x
    connect: z:7
    steps: [{ heal: { host: A1 } }, { fault: { host: A2, network: dmz, cut: true } }]
    expect: { path: [C, R, A1, z] }
  - name: back to the faults before that case, A1 cut again
    from: C
    user: x
    connect: z:7
    send: "over the lossy uplink\\n"
    expect: { path: [C, R, A2, z], echo: true }
  - name: healed for good
    from: C
    user: x
    connect: z:7
    keep: true
    steps: [{ heal: all }]
    expect: { path: [C, R, A1, z] }
`;
  const cases = allCases([resolveScenario(parseScenarioText(text, 'keep.yaml'), topology)]);
  await using lab = await LocalLab.start(topology, { timeouts: ScenarioTimeouts });
  const results = await runCases({ lab, cases });
  t.deepEqual(
    results.map((r) => [r.case.name, r.verdict, r.trace.path.join(' ')]),
    [
      ['A1 cut, kept for the next case', 'pass', 'C R A2 z'],
      ['still cut', 'pass', 'C R A2 z'],
      ['A2 cut for this case only, after healing A1', 'pass', 'C R A1 z'],
      ['back to the faults before that case, A1 cut again', 'pass', 'C R A2 z'],
      ['healed for good', 'pass', 'C R A1 z'],
    ],
    JSON.stringify(results.map((r) => r.failures)),
  );
});

test('a reset fault also cuts a connection already made across it: its connecting side reads ECONNRESET', async (t) => {
  await using lab = await LocalLab.start(topology, { timeouts: ScenarioTimeouts });
  const conn = await lab.network
    .netFor('A1', 'root')
    .connect({ host: '10.60.2.80', port: 7, timeoutMs: 2000 });
  const echoed = new Promise<string>((resolve) =>
    conn.socket.once('data', (d: Buffer) => resolve(d.toString())),
  );
  conn.socket.write('before\n');
  t.is(await echoed, 'before\n');
  const ended = new Promise<string>((resolve) => {
    conn.socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    conn.socket.once('close', () => resolve('closed without error'));
  });
  await lab.setFaults([resolveLinkFault({ host: 'z', port: 7, reset: true }, topology.hosts)]);
  t.is(await ended, 'ECONNRESET');
  // And a new connection to that port is refused.
  const other = await lab.network
    .netFor('A1', 'root')
    .connect({ host: '10.60.2.80', port: 7, timeoutMs: 500 })
    .catch((e: NodeJS.ErrnoException) => e.code);
  t.is(other, 'ECONNREFUSED');
});
