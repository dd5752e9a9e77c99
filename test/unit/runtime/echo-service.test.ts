import { once } from 'node:events';
import test from 'ava';
import type { LabEvent } from '../../../src/common/events.ts';
import { startEchoService } from '../../../src/runtime/echo-service.ts';
import { VirtualNetwork } from '../../../src/runtime/local/virtual-network.ts';
import { parseTopologyText } from '../../../src/topology/load.ts';
import type { EchoKind } from '../../../src/topology/model.ts';
import { eventually } from '../../helpers/eventually.ts';

const { topology } = await parseTopologyText(
  `networks:
  net: { subnet: 192.0.2.0/24 }
hosts:
  C: { role: client, addresses: { net: 192.0.2.10 } }
  z: { role: echo, addresses: { net: 192.0.2.7 }, echo: [7] }
`,
  '/virtual/echo.yaml',
);

async function exchange(kind: EchoKind, port: number, send: string) {
  const vn = new VirtualNetwork(topology, { privilegedPorts: false });
  const events: LabEvent[] = [];
  const listener = await startEchoService({
    net: vn.netFor('z', 'root'),
    host: 'z',
    service: { port, kind, banner: '220 z ready' },
    events: { emit: (e) => events.push(e) },
  });
  const conn = await vn.netFor('C', 'x').connect({ host: '192.0.2.7', port });
  let received = '';
  conn.socket.on('data', (d: Buffer) => {
    received += String(d);
  });
  conn.socket.write(send);
  await new Promise((r) => setTimeout(r, 60));
  // http-ok has already closed its side (and so ours): only wait when still open.
  const closed = conn.socket.destroyed ? Promise.resolve() : once(conn.socket, 'close');
  conn.socket.end();
  await closed;
  // The service emits its event when its own side closes, which may come a little after ours.
  await eventually(() => events.length > 0, "the service's close event", 5_000);
  await listener.close();
  return { received, events, local: conn.local };
}

test('echo sends back what it gets and records the peer in topology terms', async (t) => {
  const r = await exchange('echo', 7, 'hello');
  t.is(r.received, 'hello');
  t.is(r.events.length, 1);
  const e = r.events[0];
  t.is(e?.type, 'echo');
  if (e?.type === 'echo') {
    t.deepEqual(e.peer, r.local);
    t.is(e.peer.address, '192.0.2.10');
    t.deepEqual(e.local, { address: '192.0.2.7', port: 7 });
    t.is(e.bytes, 5);
    t.is(e.kind, 'echo');
  }
});

test('discard swallows data, http-ok answers 200, banner greets first', async (t) => {
  t.is((await exchange('discard', 9, 'drop me')).received, '');
  const http = await exchange('http-ok', 80, 'GET / HTTP/1.0\r\n\r\n');
  t.regex(http.received, /^HTTP\/1\.0 200 OK\r\n/);
  t.regex(http.received, /\r\n\r\nz ok\n$/);
  t.is((await exchange('banner', 21, 'USER x\r\n')).received, '220 z ready\r\n');
});
