import test from 'ava';
import { firstHop, type ProbeHosts } from '../../../src/client/probe.ts';

const hosts: ProbeHosts = {
  address: (name) => (name.toLowerCase() === 'b' ? '10.1.0.1' : name),
  serverPort: (name) => (name.toLowerCase() === 'b' || name === '10.1.0.1' ? 1081 : undefined),
};

test('a via host name becomes its address and its server port, or the port given', (t) => {
  t.deepEqual(firstHop(hosts, 'B'), { address: '10.1.0.1', port: 1081 });
  t.deepEqual(firstHop(hosts, 'b:2000'), { address: '10.1.0.1', port: 2000 });
  t.deepEqual(firstHop(hosts, '10.1.0.1'), { address: '10.1.0.1', port: 1081 });
});

test('a via address of no server defaults to port 1080; IPv6 forms keep their colons', (t) => {
  t.deepEqual(firstHop(hosts, '192.0.2.9'), { address: '192.0.2.9', port: 1080 });
  t.deepEqual(firstHop(hosts, '2001:db8::1'), { address: '2001:db8::1', port: 1080 });
  t.deepEqual(firstHop(hosts, '[2001:db8::1]:1090'), { address: '2001:db8::1', port: 1090 });
});
