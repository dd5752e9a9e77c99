import { once } from 'node:events';
import test from 'ava';
import type { Conn } from '../../../src/net/net.ts';
import { nodeNet } from '../../../src/net/node-net.ts';

test('a connection still tells both of its addresses after it has closed', async (t) => {
  const accepted: Conn[] = [];
  const listener = await nodeNet.listen({ host: '127.0.0.1', port: 0 }, (conn) => {
    accepted.push(conn);
    conn.socket.end();
  });
  try {
    const dialled = await nodeNet.connect({ host: '127.0.0.1', port: listener.local.port });
    dialled.socket.resume();
    dialled.socket.end();
    await once(dialled.socket, 'close');
    while (accepted.length === 0) await new Promise((r) => setTimeout(r, 10));
    const inbound = accepted[0]!;
    if (!inbound.socket.closed) await once(inbound.socket, 'close');
    t.deepEqual(inbound.local, { address: '127.0.0.1', port: listener.local.port });
    t.deepEqual(inbound.remote, dialled.local);
    t.deepEqual(dialled.remote, { address: '127.0.0.1', port: listener.local.port });
    t.not(dialled.local.port, 0);
  } finally {
    await listener.close();
  }
});
