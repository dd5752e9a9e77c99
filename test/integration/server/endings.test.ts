import { createServer, type Socket } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import type { ByteStream } from '../../../src/net/net.ts';
import { productionNet } from '../../../src/net/production-net.ts';
import { peerConnected } from '../../../src/net/stream-state.ts';
import { encodeSocks4Request } from '../../../src/protocol/socks4.ts';
import {
  connectTcp,
  freshAddress,
  randomPort,
  readBytes,
  slowRunner,
  startServer,
  waitFor,
  waitForLog,
} from './helpers.ts';

// Honest endings: a session the server cuts (drain timeout, an upstream that dies, a vanished
// peer) ends the client side with a reset, so a cut transfer never looks like a complete one, and
// it logs its termination lines, byte counts and why it ended.

const nets = [
  ['libuv handles', productionNet('uv')],
  ['node:net', productionNet('node')],
] as const;

/**
 * How a client connection ended: a clean EOF, or an error with its code. libuv (so node:net)
 * reports a reset that arrives right behind unread data as EOF; the kernel then no longer knows
 * the connection, while after a real FIN it does (CLOSE_WAIT): that is how the two are told apart.
 */
function ending(socket: Socket, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('still open'), timeoutMs);
    const done = (how: string) => {
      clearTimeout(timer);
      resolve(how);
    };
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    socket.on('end', () => done(peerConnected(socket as unknown as ByteStream) ? 'clean EOF' : 'ECONNRESET'));
    socket.on('data', () => {});
    socket.resume();
  });
}

/**
 * A destination that sends `bytes` and then keeps the connection open without a word. The client
 * reads them all before the cut, so the cut reaches it as a read on an empty queue: libuv reports
 * a reset that arrives right behind data as EOF (POLLHUP after a partial read), which would hide
 * what the server sent.
 */
async function startSender(t: ExecutionContext, bytes: number): Promise<{ host: string; port: number }> {
  const host = freshAddress();
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.write(Buffer.alloc(bytes, 0x5a));
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { host, port: (server.address() as { port: number }).port };
}

async function grantedClient(proxy: { host: string; port: number }, dst: { host: string; port: number }) {
  const client = await connectTcp(proxy.host, proxy.port);
  client.write(encodeSocks4Request({ command: 'connect', port: dst.port, address: dst.host, user: 'u' }));
  const reply = await readBytes(client, 8);
  return { client, code: reply[1], from: client.localAddress ?? '' };
}

for (const [label, net] of nets) {
  test(`a drain timeout resets a transfer in progress and logs its ending before close() resolves (${label})`, async (t) => {
    const dest = await startSender(t, 256 * 1024);
    const s = await startServer(t, { sockdConf: 'permit ALL\n', net });
    const { client, code, from } = await grantedClient(s, dest);
    t.is(code, 90);
    t.is((await readBytes(client, 256 * 1024, 20_000)).length, 256 * 1024);
    const how = ending(client);
    await s.server.close({ drain: true, timeoutMs: 300 });
    // Written before close() resolved: a CLI exits right after it.
    const i = s.logs.findIndex((l) => l.startsWith('terminated -- Connect from u(unknown)@'));
    t.true(i >= 0, 'terminated line');
    t.is(s.logs[i + 1], `0 bytes from ${from}, ${256 * 1024} bytes from ${dest.host}`);
    t.is(s.logs[i + 2], 'ended -- drain timeout (0.3 s) at shutdown; both sides were reset');
    t.is(await how, 'ECONNRESET', 'the client sees a reset, not a clean end of a short transfer');
  });

  test(`an upstream that dies mid-transfer resets the client and the ending names it (${label})`, async (t) => {
    const upstreamPort = randomPort();
    const upstream = freshAddress();
    const sent = Buffer.alloc(256 * 1024, 0x61);
    const server = createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => {
        s.write(Buffer.from([0, 90, 0, 0, 0, 0, 0, 0]));
        // The reset follows the data at once: it reaches rsockd right behind bytes not yet read.
        s.write(sent, () => s.resetAndDestroy());
      });
    });
    await new Promise<void>((r) => server.listen(upstreamPort, upstream, r));
    t.teardown(() => server.close());
    const s = await startServer(t, {
      mode: 'rsockd',
      sockdConf: 'permit ALL\n',
      socksConf: `sockd @=${upstream} ALL\n`,
      upstreamPort,
      net,
    });
    const dst = { host: freshAddress(), port: 80 };
    const { client, code, from } = await grantedClient(s, dst);
    t.is(code, 90);
    t.is(await ending(client), 'ECONNRESET');
    const line = await waitForLog(s, (l) => l.startsWith('ended -- '));
    t.is(line, `ended -- connection with ${dst.host} failed (ECONNRESET); ${from} was reset`);
    const i = s.logs.indexOf(line);
    t.true(s.logs[i - 2]?.startsWith('terminated -- Connect from u(unknown)@'));
    t.regex(s.logs[i - 1] ?? '', new RegExp(`^0 bytes from ${from}, \\d+ bytes from ${dst.host}$`));
  });

  test(`a client that vanishes while its reads are paused is ended by the stuck-session check (${label})`, async (t) => {
    // The destination accepts and never reads: the relay soon stops reading the client.
    const destHost = freshAddress();
    const held = new Set<Socket>();
    const dest = createServer((s) => {
      held.add(s);
      s.on('error', () => {});
      s.pause();
    });
    await new Promise<void>((r) => dest.listen(0, destHost, r));
    t.teardown(() => {
      for (const s of held) s.destroy();
      dest.close();
    });
    const destPort = (dest.address() as { port: number }).port;
    const s = await startServer(t, { sockdConf: 'permit ALL\n', net, stuckCheckMs: 200 });
    const { client, code, from } = await grantedClient(s, { host: destHost, port: destPort });
    t.is(code, 90);
    client.on('error', () => {});
    client.write(Buffer.alloc(32 * 1024 * 1024, 0x62));
    // Every buffer on the way is full once the client's own write queue stops shrinking.
    for (let last = -1, same = 0, i = 0; i < 150 && same < 3; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const now = client.writableLength;
      same = now > 0 && now === last ? same + 1 : 0;
      last = now;
    }
    t.is(s.server.activeSessions, 1);
    client.resetAndDestroy();
    const line = await waitForLog(s, (l) => l.startsWith('ended -- '), 20_000);
    t.is(line, `ended -- ${from} went away while its reads were paused (ENOTCONN); ${destHost} was reset`);
    await waitFor(() => s.server.activeSessions === 0, 20_000);
    t.pass();
  });
}

test('a session cut at shutdown before its reply is reset and logs why', async (t) => {
  const dest = await startSender(t, 0);
  const s = await startServer(t, {
    sockdConf: 'permit ALL : slow\n',
    commands: slowRunner(5000),
  });
  const client = await connectTcp(s.host, s.port);
  client.write(encodeSocks4Request({ command: 'connect', port: dest.port, address: dest.host, user: 'u' }));
  const how = ending(client);
  const from = client.localAddress;
  await waitFor(() => s.events.some((e) => e.type === 'decision'));
  const quiet = freshAddress();
  const silent = await connectTcp(s.host, s.port, quiet);
  silent.on('error', () => {});
  await waitFor(() => s.server.activeSessions === 2);
  await s.server.close({ drain: false });
  t.is(await how, 'ECONNRESET');
  t.true(s.logs.includes(`ended -- server shutdown before it was answered; ${from} was reset`));
  t.true(s.logs.includes(`ended -- server shutdown before its request was read; ${quiet} was reset`));
  silent.destroy();
});
