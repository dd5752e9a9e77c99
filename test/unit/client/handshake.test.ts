import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import test from 'ava';
import { socksExchange } from '../../../src/client/handshake.ts';
import { nodeNet } from '../../../src/net/node-net.ts';
import { encodeSocks4Reply, encodeSocks4Request } from '../../../src/protocol/socks4.ts';
import { eventually } from '../../helpers/eventually.ts';

/** A one-connection scripted server on 127.0.0.1: `script` gets the socket and a byte reader. */
async function scripted(script: (socket: Socket, read: (n: number) => Promise<Buffer>) => Promise<void>) {
  let failure: unknown = null;
  const server: Server = createServer((socket) => {
    let buf = Buffer.alloc(0);
    let wake: (() => void) | null = null;
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      wake?.();
    });
    const read = async (n: number) => {
      while (buf.length < n) await new Promise<void>((r) => (wake = r));
      const out = buf.subarray(0, n);
      buf = buf.subarray(n);
      return out;
    };
    script(socket, read).catch((err: unknown) => {
      failure = err;
      socket.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const conn = await nodeNet.connect({ host: '127.0.0.1', port });
  return {
    conn,
    failure: () => failure,
    close: () => {
      conn.socket.destroy();
      server.close();
    },
  };
}

test('SOCKS 4 CONNECT sends the classic request and keeps relayed bytes after the reply', async (t) => {
  const expected = encodeSocks4Request({ command: 'connect', port: 7, address: '198.51.100.10', user: 'x' });
  const s = await scripted(async (socket, read) => {
    const got = await read(expected.length);
    if (!got.equals(expected)) throw new Error(`unexpected request ${got.toString('hex')}`);
    socket.write(Buffer.concat([encodeSocks4Reply(90), Buffer.from('early')]));
  });
  t.teardown(s.close);
  const x = await socksExchange(
    s.conn,
    { protocol: 'socks4', command: 'connect', host: '198.51.100.10', port: 7, user: 'x' },
    { timeoutMs: 10_000 },
  );
  t.true(x.first.granted);
  t.is(x.first.code, 90);
  // What came with the reply, then whatever of the same write a loaded machine delivered in a
  // later read (finish() pauses the socket with it unread): no byte lost, none twice.
  let kept = x.finish();
  s.conn.socket.on('data', (d: Buffer) => {
    kept = Buffer.concat([kept, d]);
  });
  s.conn.socket.resume();
  await eventually(() => kept.length >= 5, 'the relayed bytes');
  t.is(kept.toString(), 'early');
  t.is(s.failure(), null);
});

test('SOCKS 4A puts the name after the USERID and a 0.0.0.1 DSTIP', async (t) => {
  const expected = encodeSocks4Request({ command: 'connect', port: 80, hostname: 'z', user: 'x' });
  const s = await scripted(async (socket, read) => {
    const got = await read(expected.length);
    if (!got.equals(expected)) throw new Error('not a 4A request');
    socket.write(encodeSocks4Reply(91));
  });
  t.teardown(s.close);
  const x = await socksExchange(
    s.conn,
    { protocol: 'socks4a', command: 'connect', host: 'z', port: 80, user: 'x' },
    { timeoutMs: 10_000 },
  );
  t.false(x.first.granted);
  t.is(x.first.code, 91);
});

test('SOCKS 5 with credentials negotiates RFC 1929 before the request', async (t) => {
  const s = await scripted(async (socket, read) => {
    const greeting = await read(4);
    if (!greeting.equals(Buffer.from([5, 2, 0, 2]))) throw new Error(`greeting ${greeting.toString('hex')}`);
    socket.write(Buffer.from([5, 2]));
    const auth = await read(2 + 5 + 1 + 6);
    if (auth.toString('latin1', 2, 7) !== 'alice' || auth.toString('latin1', 8) !== 's3cret')
      throw new Error('auth');
    socket.write(Buffer.from([1, 0]));
    const req = await read(4 + 1 + 1 + 2);
    if (req[1] !== 1 || req[3] !== 3 || req.toString('latin1', 5, 6) !== 'z') throw new Error('request');
    socket.write(Buffer.from([5, 0, 0, 1, 10, 0, 0, 1, 0x04, 0x38]));
  });
  t.teardown(s.close);
  const x = await socksExchange(
    s.conn,
    {
      protocol: 'socks5',
      command: 'connect',
      host: 'z',
      port: 7,
      user: 'alice',
      credentials: { username: 'alice', password: 's3cret' },
    },
    { timeoutMs: 10_000 },
  );
  t.is(s.failure(), null);
  t.true(x.first.granted);
  t.deepEqual(x.first.endpoint, { address: '10.0.0.1', port: 1080 });
});

test('plain SOCKS 4 refuses a host name before sending anything', async (t) => {
  const s = await scripted(async () => {});
  t.teardown(s.close);
  await t.throwsAsync(
    socksExchange(
      s.conn,
      { protocol: 'socks4', command: 'connect', host: 'z', port: 7, user: 'x' },
      { timeoutMs: 500 },
    ),
    { code: 'E_CLIENT_ADDRESS' },
  );
});

test('a server that closes before replying is a protocol error, not a hang', async (t) => {
  const s = await scripted(async (socket) => {
    socket.end();
  });
  t.teardown(s.close);
  await t.throwsAsync(
    socksExchange(
      s.conn,
      { protocol: 'socks4', command: 'connect', host: '10.0.0.1', port: 7, user: 'x' },
      { timeoutMs: 10_000 },
    ),
    { code: 'E_CLIENT_CLOSED' },
  );
});

test('BIND reads the second reply after the first', async (t) => {
  const s = await scripted(async (socket, read) => {
    await read(9 + 1);
    socket.write(encodeSocks4Reply(90, 4000, '192.0.2.1'));
    setTimeout(() => socket.write(encodeSocks4Reply(90, 20, '192.0.2.21')), 30);
  });
  t.teardown(s.close);
  const x = await socksExchange(
    s.conn,
    { protocol: 'socks4', command: 'bind', host: '192.0.2.21', port: 20, user: 'x' },
    { timeoutMs: 10_000 },
  );
  t.deepEqual(x.first.endpoint, { address: '192.0.2.1', port: 4000 });
  const second = await x.second();
  t.deepEqual(second.endpoint, { address: '192.0.2.21', port: 20 });
});
