import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import test from 'ava';
import { Relay, type RelayResult } from '../../../src/server/relay.ts';
import { eventually } from '../../helpers/eventually.ts';

/** Two connected TCP pairs on 127.0.0.1: [outer client, relay's client side] and [relay's remote side, outer peer]. */
async function pair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const outer = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  await new Promise((r) => outer.once('connect', r));
  const inner = await accepted;
  server.close();
  return [outer, inner];
}

async function relayed(idleMs = 0) {
  const [client, clientSide] = await pair();
  const [remoteSide, peer] = await pair();
  const relay = new Relay(clientSide, remoteSide, {
    clientHandshakeBytes: 0,
    remoteHandshakeBytes: 0,
    early: null,
    idleMs,
  });
  return { client, peer, relay, clientSide, remoteSide };
}

/** Reads everything until EOF, pausing now and then so the relay meets backpressure. */
function drainSlowly(sock: net.Socket): Promise<{ hash: string; bytes: number }> {
  return new Promise((resolve) => {
    const h = createHash('sha256');
    let bytes = 0;
    let n = 0;
    sock.on('data', (chunk: Buffer) => {
      h.update(chunk);
      bytes += chunk.length;
      if (++n % 16 === 0) {
        sock.pause();
        setTimeout(() => sock.resume(), 5);
      }
    });
    sock.once('end', () => resolve({ hash: h.digest('hex'), bytes }));
    sock.resume();
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('bulk data crosses the relay unchanged both ways, with a slow reader on each side', async (t) => {
  const { client, peer, relay } = await relayed();
  const up = randomBytes(12 * 1024 * 1024);
  const down = randomBytes(9 * 1024 * 1024 + 17);
  const gotUp = drainSlowly(peer);
  const gotDown = drainSlowly(client);
  client.end(up);
  peer.end(down);
  const [u, d] = await Promise.all([gotUp, gotDown]);
  t.is(u.bytes, up.length);
  t.is(u.hash, sha(up));
  t.is(d.bytes, down.length);
  t.is(d.hash, sha(down));
  const result = await relay.done;
  t.is(result.fromClient, up.length);
  t.is(result.fromRemote, down.length);
  t.is(result.reason, 'eof');
});

test('a half-close is passed on and the other direction keeps flowing', async (t) => {
  const { client, peer, relay } = await relayed();
  const peerEnded = new Promise((r) => peer.once('end', r));
  peer.resume();
  client.end(Buffer.from('request'));
  await peerEnded;
  const reply = randomBytes(2 * 1024 * 1024);
  const got = drainSlowly(client);
  peer.end(reply);
  const d = await got;
  t.is(d.hash, sha(reply));
  t.is((await relay.done).reason, 'eof');
});

test('while the reader stalls, the relay stops reading instead of buffering without bound', async (t) => {
  const { client, peer, relay, remoteSide } = await relayed();
  peer.pause();
  const chunk = randomBytes(1024 * 1024);
  let sent = 0;
  // Keep writing until our own socket pushes back: the relay has stopped taking data.
  while (sent < 256 * 1024 * 1024 && client.write(chunk)) sent += chunk.length;
  await new Promise((r) => setTimeout(r, 300));
  t.true(remoteSide.writableLength <= 2 * 256 * 1024 + 64 * 1024, `queued ${remoteSide.writableLength}`);
  client.destroy();
  peer.destroy();
  t.is((await relay.done).reason, 'error');
});

test('the idle timer ends a relay in which nothing moves', async (t) => {
  const { client, peer, relay } = await relayed(150);
  const started = Date.now();
  const result = await relay.done;
  t.is(result.reason, 'idle');
  t.true(Date.now() - started >= 140);
  client.destroy();
  peer.destroy();
});

test('onDone reports the result once, the same one done resolves with, also when done is asked for late', async (t) => {
  const [client, clientSide] = await pair();
  const [remoteSide, peer] = await pair();
  const reported: RelayResult[] = [];
  const relay = new Relay(clientSide, remoteSide, {
    clientHandshakeBytes: 0,
    remoteHandshakeBytes: 0,
    early: null,
    idleMs: 0,
    onDone: (result) => reported.push(result),
  });
  peer.on('data', () => {});
  client.on('data', () => {});
  client.end('ping');
  peer.end('pong!');
  await new Promise<void>((resolve) => clientSide.once('close', () => resolve()));
  await eventually(() => reported.length > 0, 'the onDone report');
  t.deepEqual(reported, [{ fromClient: 4, fromRemote: 5, reason: 'eof' }]);
  t.is(
    await relay.done,
    reported[0] as RelayResult,
    'done, first asked for after the end, gives the same result',
  );
  await new Promise((r) => setTimeout(r, 20));
  t.is(reported.length, 1);
});

test('a relay between two sockets already closed reports its end after the constructor returns', async (t) => {
  const [client, clientSide] = await pair();
  const [remoteSide, peer] = await pair();
  clientSide.destroy();
  remoteSide.destroy();
  client.destroy();
  peer.destroy();
  await new Promise((r) => setImmediate(r));
  let reported = 0;
  const relay = new Relay(clientSide, remoteSide, {
    clientHandshakeBytes: 0,
    remoteHandshakeBytes: 0,
    early: null,
    idleMs: 0,
    onDone: () => reported++,
  });
  t.is(reported, 0, 'not from inside the constructor');
  t.is((await relay.done).reason, 'eof');
  t.is(reported, 1);
});
