import test from 'ava';
import { decodeLine, encodeLine, LineSplitter } from '../../../../src/runtime/agent-protocol.ts';
import { gatewayFor } from '../../../../src/runtime/docker/addressing.ts';
import { containerLookup } from '../../../../src/runtime/docker/agent/identd.ts';
import { addressIn, directoryResolver } from '../../../../src/runtime/docker/agent/probe.ts';
import { bridgeName } from '../../../../src/runtime/docker/firewall.ts';
import {
  containerName,
  dockerSafe,
  LabLabel,
  labLabels,
  networkName,
} from '../../../../src/runtime/docker/labels.ts';
import type { Directory } from '../../../../src/runtime/host-spec.ts';

test('the gateway is the highest address of the subnet that no host uses', (t) => {
  t.is(gatewayFor('10.1.0.0/24', ['10.1.0.1', '10.1.0.10']), '10.1.0.254');
  t.is(gatewayFor('10.1.0.0/24', ['10.1.0.254', '10.1.0.253']), '10.1.0.252');
  t.is(gatewayFor('192.168.7.0/30', ['192.168.7.2']), '192.168.7.1');
});

test('a subnet whose every address is taken has no gateway, and a malformed one none either', (t) => {
  t.is(gatewayFor('10.9.0.0/30', ['10.9.0.1', '10.9.0.2']), null);
  t.is(gatewayFor('10.9.0.0', []), null);
  t.is(gatewayFor('10.9.0.0/31', []), null);
});

test('every Docker object of a run is labelled as a lab and with its run id', (t) => {
  const labels = labLabels('r1', 'seed', 'B', 42);
  t.is(labels[LabLabel.lab], 'true');
  t.is(labels[LabLabel.run], 'r1');
  t.is(labels[LabLabel.ownerPid], '42');
  t.is(networkName('r1', 'dmz'), 'sockslab-r1-dmz');
  t.is(containerName('r1', 'ws.example.com'), 'sockslab-r1-ws.example.com');
});

test('topology names that Docker would refuse are made safe', (t) => {
  t.is(dockerSafe('my host/1'), 'my-host-1');
  t.is(dockerSafe('_x'), 'x_x');
});

test('bridge names fit the 15-character interface limit and are stable per network', (t) => {
  const a = bridgeName('sockslab-0123456789ab-a-very-long-network-name');
  t.true(a.length <= 15);
  t.is(a, bridgeName('sockslab-0123456789ab-a-very-long-network-name'));
  t.not(a, bridgeName('sockslab-0123456789ab-other'));
});

test('agent lines round-trip and foreign lines are ignored', (t) => {
  const line = { k: 'ready', services: ['rsockd', 'identd'] } as const;
  t.deepEqual(decodeLine(encodeLine(line)), line);
  t.is(decodeLine('(node:1) Warning: something'), null);
  t.is(decodeLine('{"no":"kind"}'), null);
  t.is(decodeLine('{broken'), null);
});

test('a line splitter keeps the unterminated tail for the next chunk', (t) => {
  const s = new LineSplitter();
  t.deepEqual(s.push('a\nb'), ['a']);
  t.deepEqual(s.push('c\n\nd'), ['bc', '']);
  t.deepEqual(s.flush(), ['d']);
  t.deepEqual(s.flush(), []);
});

// /proc/net/tcp as the kernel writes it (little-endian hex), captured shape with invented values:
// 10.1.0.10:40000 <-> 10.1.0.1:1080 owned by uid 1001; the same local port to another peer by 0.
const procText = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0A00010A:9C40 0100010A:0438 01 00000000:00000000 00:00000000 00000000  1001        0 4242 1 0000000000000000 20 4 30 10 -1
   1: 0A00010A:9C40 0200010A:0438 01 00000000:00000000 00:00000000 00000000     0        0 4243 1 0000000000000000 20 4 30 10 -1
   2: 0A00010A:9C41 0100010A:0438 01 00000000:00000000 00:00000000 00000000  4000        0 4244 1 0000000000000000 20 4 30 10 -1
`;

test("the container's identd names the uid that owns the connection in the topology's terms", async (t) => {
  const lookup = containerLookup(
    [
      { name: 'x', uid: 1001 },
      { name: 'root', uid: 0 },
    ],
    async () => procText,
  );
  const q = (localPort: number, peer: string) => ({
    localPort,
    remotePort: 1080,
    peer: { address: peer, port: 45000 },
    local: { address: '10.1.0.10', port: 113 },
  });
  t.is(await lookup(q(40000, '10.1.0.1')), 'x');
  t.is(await lookup(q(40000, '10.1.0.2')), 'root');
  t.is(await lookup(q(40001, '10.1.0.1')), '4000', 'a uid without a name is answered as the number');
  t.is(await lookup(q(40002, '10.1.0.1')), null);
});

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
