import { join } from 'node:path';
import test from 'ava';
import { FaultsInPlace, faultsAfter, usesLinkFaults } from '../../../src/scenario/faults-in-place.ts';
import { parseScenarioText } from '../../../src/scenario/load.ts';
import { resolveScenario } from '../../../src/scenario/resolve.ts';
import { loadTopology } from '../../../src/topology/load.ts';

const topology = await loadTopology(join(import.meta.dirname, '../../../topologies/dmz-failover.yaml'));
const cases = (body: string) =>
  resolveScenario(parseScenarioText(`topology: dmz-failover\ncases:\n${body}`, 's.yaml'), topology).cases;

const two = cases(`  - name: a
    from: C
    user: x
    connect: z:7
    steps: [{ fault: { host: A1, network: dmz, cut: true } }, { fault: { from: R, to: A2, drop: true } }]
    expect: { reply: rejected }
  - name: b
    from: C
    user: x
    connect: z:7
    keep: true
    steps: [{ heal: { host: A1 } }]
    expect: { reply: granted }
  - name: c
    from: C
    user: x
    connect: z:7
    expect: { reply: granted }
`);

test('fault steps add, heal removes by host, and a case is put back to the faults before it', (t) => {
  const [a, b, c] = two;
  const inPlace = new FaultsInPlace(topology.faults);
  t.deepEqual(
    inPlace.current().map((f) => f.id),
    ['loss 20% (every 5th data segment) on z@outside'],
  );
  const undo = inPlace.undoFor(a!);
  for (const s of a!.steps) inPlace.follow(s);
  t.is(inPlace.current().length, 3);
  for (const s of undo) inPlace.follow(s);
  t.deepEqual(inPlace.current(), topology.faults);
  t.deepEqual(inPlace.undoFor(b!), [], 'keep: true');
  t.deepEqual(inPlace.undoFor(c!), [], 'no fault steps');
  t.true(usesLinkFaults(a!));
  t.false(usesLinkFaults(c!));
  t.deepEqual(faultsAfter(inPlace.current(), { kind: 'heal' }), []);
});

test('a fault step with an error is reported at its key in the scenario file', (t) => {
  const err = t.throws(() =>
    cases(`  - name: bad
    from: C
    user: x
    connect: z:7
    steps: [{ fault: { host: R, cut: true } }]
    expect: { reply: granted }
`),
  );
  t.regex(
    err.message,
    /s\.yaml: cases\[0\]\.steps\[0\]\.fault\.host \(7:30\): R has several interfaces; say which with network:/,
  );
  t.is((err as { code?: string }).code, 'E_SCENARIO_FAULT');
});
