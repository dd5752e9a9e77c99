import { connect, createServer, type Socket } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import type { ByteStream } from '../../../src/net/net.ts';
import { productionNet } from '../../../src/net/production-net.ts';
import { peerConnected, readsPaused, resetOrClose } from '../../../src/net/stream-state.ts';
import { eventually } from '../../helpers/eventually.ts';

// Ending with a reset, and the two questions the stuck-session check asks (stream-state.ts), on
// both Nets: the server side is the Net's socket, the peer a plain node:net socket.

const nets = [
  ['libuv handles', productionNet('uv')],
  ['node:net', productionNet('node')],
] as const;

async function pair(
  t: ExecutionContext,
  net: (typeof nets)[number][1],
): Promise<{ ours: ByteStream; peer: Socket }> {
  let ours!: ByteStream;
  const got = new Promise<void>((resolve) => {
    void net
      .listen({ host: '127.0.0.1', port: 0 }, (c) => {
        ours = c.socket;
        ours.on('error', () => {});
        resolve();
      })
      .then((l) => {
        t.teardown(() => l.close());
        const peer = connect({ host: '127.0.0.1', port: l.local.port, allowHalfOpen: true });
        peer.on('error', () => {});
        t.teardown(() => peer.destroy());
        peerRef = peer;
      });
  });
  let peerRef: Socket | undefined;
  await got;
  while (peerRef === undefined) await new Promise((r) => setTimeout(r, 5));
  t.teardown(() => ours.destroy());
  return { ours, peer: peerRef };
}

function outcome(peer: Socket): Promise<string> {
  return new Promise((resolve) => {
    peer.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    peer.on('end', () => resolve('EOF'));
    peer.resume();
  });
}

for (const [label, net] of nets) {
  test(`${label}: resetOrClose on an open stream makes the peer read ECONNRESET`, async (t) => {
    const { ours, peer } = await pair(t, net);
    const how = outcome(peer);
    resetOrClose(ours);
    t.is(await how, 'ECONNRESET');
    t.true(await new Promise<boolean>((r) => (ours.closed ? r(true) : ours.once('close', () => r(true)))));
  });

  test(`${label}: after end(), resetOrClose closes plainly (the peer has our whole stream) and the socket closes`, async (t) => {
    const { ours, peer } = await pair(t, net);
    const how = outcome(peer);
    ours.end('bye');
    // Our FIN is out once 'finish' comes (a fixed 50 ms pause was not always enough under load).
    await new Promise<void>((r) => (ours.writableFinished ? r() : ours.once('finish', () => r())));
    const errors: Error[] = [];
    ours.on('error', (e: Error) => errors.push(e));
    resetOrClose(ours);
    t.is(await how, 'EOF');
    await new Promise<void>((r) => (ours.closed ? r() : ours.once('close', () => r())));
    t.deepEqual(errors, []);
  });

  test(`${label}: a paused stream whose peer reset is reported as gone; a live one is not`, async (t) => {
    const { ours, peer } = await pair(t, net);
    ours.on('data', () => {});
    ours.pause();
    await new Promise((r) => setTimeout(r, 20));
    t.true(readsPaused(ours));
    t.true(peerConnected(ours));
    peer.resetAndDestroy();
    await eventually(() => !peerConnected(ours), 'the kernel forgets the connection');
    t.false(peerConnected(ours), 'the kernel no longer knows the connection');
    t.false(ours.destroyed, 'and nothing told the paused stream');
  });
}

test('a node:net socket is not paused while it reads', async (t) => {
  const server = createServer((s) => s.on('error', () => {}));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const c = connect((server.address() as { port: number }).port, '127.0.0.1');
  c.on('error', () => {});
  t.teardown(() => c.destroy());
  await new Promise((r) => c.once('connect', r));
  c.on('data', () => {});
  t.false(readsPaused(c as unknown as ByteStream));
});

test('libuv handles: a reset right behind unread data is an error, not EOF (libuv reports it as EOF)', async (t) => {
  const { ours, peer } = await pair(t, productionNet('uv'));
  ours.pause();
  // Data, then the reset, both waiting in the kernel before our first read.
  await new Promise<void>((r) => peer.write(Buffer.alloc(200_000, 1), () => r()));
  peer.resetAndDestroy();
  // Wait for the reset to reach our socket (the kernel then forgets the peer), not a fixed 100 ms:
  // a loaded machine may hand loopback packets to ksoftirqd, which runs late.
  await eventually(() => !peerConnected(ours), 'the reset reaches our socket');
  t.false(peerConnected(ours), 'the reset reached our socket');
  const how = new Promise<string>((resolve) => {
    ours.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    ours.on('end', () => resolve('EOF'));
  });
  ours.on('data', () => {});
  ours.resume();
  t.is(await how, 'ECONNRESET');
});
