import test from 'ava';
import { addressIn, directoryResolver } from '../../../../src/runtime/agent/probe.ts';
import type { Directory } from '../../../../src/runtime/host-spec.ts';

const directory: Directory = [
  { name: 'C', interfaces: [{ network: 'lan', address: '10.1.0.10' }] },
  {
    name: 'B',
    interfaces: [
      { network: 'lan', address: '10.1.0.1' },
      { network: 'dmz', address: '10.2.0.2' },
    ],
    serverPort: 1080,
  },
  { name: 'A', interfaces: [{ network: 'dmz', address: '10.2.0.1' }] },
];

test('a probe names a host by its address on a network the origin shares, else by its first', (t) => {
  t.is(addressIn(directory, 'A', 'B'), '10.2.0.2');
  t.is(addressIn(directory, 'C', 'b'), '10.1.0.1');
  t.is(addressIn(directory, 'C', 'A'), '10.2.0.1');
  t.is(addressIn(directory, 'C', '192.0.2.7'), '192.0.2.7');
  t.is(addressIn(directory, 'C', 'elsewhere.example'), 'elsewhere.example');
});

test("the probe's resolver is the topology's host table in both directions", async (t) => {
  const r = directoryResolver(directory);
  t.deepEqual(await r.forward('b'), ['10.1.0.1', '10.2.0.2']);
  t.deepEqual(await r.reverse('10.2.0.1'), ['A']);
  t.deepEqual(await r.forward('nowhere'), []);
});
