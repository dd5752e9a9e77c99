import test from 'ava';
import { localRuntime } from '../../../src/runtime/local/local-runtime.ts';
import { parseTopologyText } from '../../../src/topology/load.ts';
import { settled } from './lab-helpers.ts';

/** IPv6 networks: canonical addresses, auto-assignment, and SOCKS 5 to an IPv6 destination. */

const text = `networks:
  lan: { subnet: 10.6.0.0/24 }
  v6: { subnet: "2001:DB8:6::/64" }
hosts:
  C: { role: client, addresses: [lan], users: { x: 1001 } }
  S:
    role: sockd
    addresses: { lan: 10.6.0.1, v6: "2001:db8:6:0::1" }
    server:
      flags: [--socks5]
      sockd.conf: |
        permit 10.6.0.0 255.255.255.0
  z6: { role: echo, addresses: [v6], echo: [7] }
`;

test('IPv6 addresses are canonical and auto-assigned after the explicit ones', async (t) => {
  const { topology } = await parseTopologyText(text, '/virtual/v6.yaml');
  const s = topology.hosts.find((h) => h.name === 'S');
  t.deepEqual(s?.interfaces[1], { network: 'v6', address: '2001:db8:6::1' });
  t.deepEqual(topology.hosts.find((h) => h.name === 'z6')?.interfaces, [
    { network: 'v6', address: '2001:db8:6::2' },
  ]);
});

test('an IPv6 address outside its subnet is an error naming the subnet', async (t) => {
  const err = await t.throwsAsync(
    parseTopologyText(text.replace('2001:db8:6:0::1', '2001:db8:7::1'), '/virtual/v6.yaml'),
  );
  t.regex(err?.message ?? '', /address 2001:db8:7::1 is outside network v6 \(2001:db8:6::\/64\)/);
});

test('SOCKS 5 reaches an IPv6-only echo host through a dual-stack sockd', async (t) => {
  const { topology } = await parseTopologyText(text, '/virtual/v6.yaml');
  const lab = await localRuntime.up(topology);
  t.teardown(() => lab.down());
  const outcome = await lab.probe({
    from: 'C',
    user: 'x',
    via: 'S',
    protocol: 'socks5',
    command: 'connect',
    target: { host: '2001:db8:6::2', port: 7 },
    send: 'over six',
  });
  t.is(outcome.reply, 0);
  t.is(outcome.received, 'over six');
  const echo = (await settled(lab, 0, outcome)).find((e) => e.type === 'echo');
  t.is(echo?.type === 'echo' ? echo.peer.address : null, '2001:db8:6::1');
});

test('a bracketed IPv6 --via with a port is dialled as such', async (t) => {
  const { topology } = await parseTopologyText(text, '/virtual/v6.yaml');
  const lab = await localRuntime.up(topology);
  t.teardown(() => lab.down());
  const outcome = await lab.probe({
    from: 'z6',
    user: 'root',
    via: '[2001:db8:6::1]:1080',
    protocol: 'socks5',
    command: 'connect',
    target: { host: '10.6.0.1', port: 7 },
  });
  // S answers (so the address and port were right) and refuses: its rules admit only 10.6.0.0/24.
  t.is(outcome.reply, 2);
  t.deepEqual(outcome.local?.address, '2001:db8:6::2');
});
