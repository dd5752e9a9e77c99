import test from 'ava';
import { decodeLine, encodeLine, LineSplitter } from '../../../../src/runtime/agent-protocol.ts';
import { gatewayFor } from '../../../../src/runtime/docker/addressing.ts';
import { bridgeName } from '../../../../src/runtime/docker/firewall.ts';
import {
  containerName,
  dockerSafe,
  LabLabel,
  labLabels,
  networkName,
} from '../../../../src/runtime/docker/labels.ts';

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
