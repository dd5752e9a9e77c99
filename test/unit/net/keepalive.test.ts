import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { productionNet } from '../../../src/net/production-net.ts';
import { programsInstalled, testWhen } from '../../helpers/interop-tools.ts';

// ListenOptions.keepAliveMs: every accepted connection has TCP keepalive armed with that idle
// time (libuv handles inherit it from the listening socket, node:net sets it per socket), so a
// client host that vanishes is found by the kernel. `ss` shows the socket's keepalive timer.

// ss (iproute2) reads the socket timers.
const test = testWhen('keepalive timers', programsInstalled('ss'));

for (const kind of ['uv', 'node'] as const) {
  test(`${kind === 'uv' ? 'libuv handles' : 'node:net'}: accepted connections carry the keepalive timer the listener asks for`, async (t) => {
    const net = productionNet(kind);
    const listener = await net.listen({ host: '127.0.0.1', port: 0, keepAliveMs: 45_000 }, (c) => {
      c.socket.on('error', () => {});
      t.teardown(() => c.socket.destroy());
    });
    t.teardown(() => listener.close());
    const client = connect(listener.local.port, '127.0.0.1');
    client.on('error', () => {});
    t.teardown(() => client.destroy());
    await new Promise((r) => client.once('connect', r));
    // The connection is established in the kernel before this process accepts it and (node:net)
    // arms the timer, so the first line ss shows may have no timer yet: poll for one, up to 10 s.
    let line = '';
    const deadline = performance.now() + 10_000;
    while (!line.includes('timer:(keepalive') && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      const out = execFileSync('ss', [
        '-tnoH',
        'state',
        'established',
        `( sport = :${listener.local.port} )`,
      ]);
      line = out.toString().trim();
    }
    t.regex(line, /timer:\(keepalive,4[0-5]sec,0\)/);
  });
}
