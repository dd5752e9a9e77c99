import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import type { ByteStream, Conn } from '../../../src/net/net.ts';
import { productionNet } from '../../../src/net/production-net.ts';
import { UvSocket } from '../../../src/net/uv-socket.ts';
import { Relay } from '../../../src/server/relay.ts';
import { eventually } from '../../helpers/eventually.ts';
import { Received, sha256, within } from './_streams.ts';

/**
 * UvSocket's relay mode (`a.relayTo(b)`: a's reads written straight to b, b's backpressure pausing
 * a, a's EOF ending b) between two UvSockets, with node:net sockets as the outer ends:
 *
 *   client (node:net) → [UvNet listener] A ⇄ B [UvNet.connect] → destination (node:net server)
 *
 * Real sockets on 127.0.0.1 only.
 */

const uvNet = productionNet('uv');
const noop = (): void => {};
const MiB = 1024 * 1024;
/**
 * The limit for a bulk transfer (8-32 MiB through the relay and checksummed): it only bounds a
 * failure, and on a loaded 2-core machine such a transfer took over 10 s.
 */
const bulkMs = 30_000;

// ------------------------------------------------------------------ plumbing

/** A promise for the socket's 'close' (registered now, so an early 'close' is not missed). */
function closeOf(socket: ByteStream): Promise<boolean> {
  return new Promise<boolean>((resolve) => socket.once('close', resolve));
}

/** A FIFO of things that arrive by callback (accepted connections). */
class Arrivals<T> {
  private readonly ready: T[] = [];
  private readonly waiting: Array<(item: T) => void> = [];
  push(item: T): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter(item);
    else this.ready.push(item);
  }
  next(what: string): Promise<T> {
    const item = this.ready.shift();
    return within(
      item !== undefined ? Promise.resolve(item) : new Promise<T>((r) => this.waiting.push(r)),
      what,
    );
  }
}

interface RelayChain {
  /** The outer client (node:net), connected to the UvNet listener. */
  readonly client: Socket;
  /** The outer destination (node:net), the accepted end of B's connection. */
  readonly dest: Socket;
  /** The UvSocket the UvNet listener accepted from the client. */
  readonly a: UvSocket;
  /** The UvSocket UvNet dialled to the destination. */
  readonly b: UvSocket;
  /** 'close' of A and B (registered at set-up). */
  readonly aClosed: Promise<boolean>;
  readonly bClosed: Promise<boolean>;
  /** Starts relay mode both ways. */
  relay(): void;
}

/**
 * Builds the chain (all half-open capable) without starting the relay. Teardown destroys every
 * socket and closes both listeners.
 */
async function chain(t: ExecutionContext): Promise<RelayChain> {
  const accepted = new Arrivals<Conn>();
  const listener = await uvNet.listen({ host: '127.0.0.1', port: 0 }, (conn) => accepted.push(conn));
  const destinations = new Arrivals<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (s) => destinations.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const destPort = (server.address() as { port: number }).port;
  const sockets: ByteStream[] = [];
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await within(listener.close(), 'uv listener close');
    await within(new Promise<void>((r) => server.close(() => r())), 'destination server close');
  });

  const client = tcpConnect({ host: '127.0.0.1', port: listener.local.port, allowHalfOpen: true });
  client.on('error', noop);
  sockets.push(client);
  await within(new Promise<void>((r) => client.once('connect', r)), 'client connect');
  const a = (await accepted.next('accept from the client')).socket;
  sockets.push(a);
  const bConn = await within(
    uvNet.connect({ host: '127.0.0.1', port: destPort }),
    'connect to the destination',
  );
  const b = bConn.socket;
  sockets.push(b);
  const dest = await destinations.next('destination accept');
  dest.on('error', noop);
  sockets.push(dest);
  if (!(a instanceof UvSocket) || !(b instanceof UvSocket)) {
    throw new Error('productionNet("uv") did not give UvSockets (no libuv handle bindings in this Node?)');
  }
  a.on('error', noop);
  b.on('error', noop);
  const aClosed = closeOf(a);
  const bClosed = closeOf(b);
  return {
    client,
    dest,
    a,
    b,
    aClosed,
    bClosed,
    relay: () => {
      a.relayTo(b);
      b.relayTo(a);
    },
  };
}

/**
 * Waits until the pipeline in front of a destination that does not read has filled up: `a`'s
 * read count stays put across three samples 50 ms apart (and is not 0). A fixed pause instead
 * was too short on a loaded machine, where A was still catching up when the test began to count.
 */
async function readsStall(a: UvSocket): Promise<void> {
  let last = -1;
  let steady = 0;
  const deadline = performance.now() + 10_000;
  while (steady < 2) {
    if (performance.now() > deadline) throw new Error(`A's reads do not stall (at ${a.bytesRead} bytes)`);
    await sleep(50);
    const now = a.bytesRead;
    steady = now === last && now > 0 ? steady + 1 : 0;
    last = now;
  }
}

/** Waits until `r` holds exactly `expected` (as latin1 text). */
async function receives(r: Received, expected: string, what: string): Promise<void> {
  await eventually(() => r.bytes >= expected.length, what);
  if (r.text() !== expected) throw new Error(`${what}: got ${JSON.stringify(r.text())}`);
}

// ------------------------------------------------------------------ tests

test('relayed bytes arrive unchanged and in order both ways, and the UvSockets emit no data events', async (t) => {
  const { client, dest, a, b, relay } = await chain(t);
  let dataEvents = 0;
  relay();
  // Listening for 'data' in relay mode must not divert reads away from the other socket.
  a.on('data', () => dataEvents++);
  b.on('data', () => dataEvents++);
  const atDest = new Received(dest);
  const atClient = new Received(client);

  // Request/answer rounds: each message waits for the previous answer.
  let toDest = '';
  let toClient = '';
  for (let i = 0; i < 10; i++) {
    const ask = `ping ${i};`;
    toDest += ask;
    client.write(ask);
    await receives(atDest, toDest, `ping ${i} at the destination`);
    const answer = `pong ${i}:${'x'.repeat(i)};`;
    toClient += answer;
    dest.write(answer);
    await receives(atClient, toClient, `pong ${i} at the client`);
  }
  // A burst of small writes each way at once.
  for (let i = 0; i < 200; i++) {
    const up = `c${i},`;
    const down = `d${i},`;
    toDest += up;
    toClient += down;
    client.write(up);
    dest.write(down);
  }
  await receives(atDest, toDest, 'burst at the destination');
  await receives(atClient, toClient, 'burst at the client');
  t.is(atDest.text(), toDest);
  t.is(atClient.text(), toClient);
  t.is(dataEvents, 0);
  t.false(atDest.ended);
  t.false(atClient.ended);
  t.false(a.destroyed);
  t.false(b.destroyed);
});

test("the client's end reaches the destination, which can still answer; the answer and its end reach the client and both UvSockets close", async (t) => {
  const { client, dest, a, b, aClosed, bClosed, relay } = await chain(t);
  relay();
  const atDest = new Received(dest);
  const atClient = new Received(client);

  client.end('request');
  await within(atDest.end, "the destination's 'end'");
  t.is(atDest.text(), 'request');
  t.false(atClient.ended, 'the other direction is still open');
  t.false(b.destroyed);

  dest.write('answer part 1, ');
  await receives(atClient, 'answer part 1, ', 'first answer part at the client');
  dest.end('part 2');
  await within(atClient.end, "the client's 'end'");
  t.is(atClient.text(), 'answer part 1, part 2');
  await within(aClosed, "A's 'close'");
  await within(bClosed, "B's 'close'");
  t.true(a.readableEnded && a.writableFinished);
  t.true(b.readableEnded && b.writableFinished);
});

test("the destination's end reaches the client first, which can still send; its bytes and end reach the destination and both UvSockets close", async (t) => {
  const { client, dest, a, b, aClosed, bClosed, relay } = await chain(t);
  relay();
  const atDest = new Received(dest);
  const atClient = new Received(client);

  dest.end('greeting');
  await within(atClient.end, "the client's 'end'");
  t.is(atClient.text(), 'greeting');
  t.false(atDest.ended, 'the other direction is still open');
  t.false(a.destroyed);

  client.write('late ');
  await receives(atDest, 'late ', 'first late part at the destination');
  client.end('reply');
  await within(atDest.end, "the destination's 'end'");
  t.is(atDest.text(), 'late reply');
  await within(aClosed, "A's 'close'");
  await within(bClosed, "B's 'close'");
  t.true(a.readableEnded && a.writableFinished);
  t.true(b.readableEnded && b.writableFinished);
});

test('8 MiB each way at once crosses the relay unchanged (bulk directions read into their own 128 KiB buffer)', async (t) => {
  const { client, dest, a, b, aClosed, bClosed, relay } = await chain(t);
  relay();
  const up = randomBytes(8 * MiB);
  const down = randomBytes(8 * MiB);
  const atDest = new Received(dest);
  const atClient = new Received(client);
  client.end(up);
  dest.end(down);
  await within(Promise.all([atDest.end, atClient.end]), 'both ends', bulkMs);
  t.is(atDest.bytes, up.length);
  t.is(atClient.bytes, down.length);
  t.is(sha256(atDest.buffer), sha256(up));
  t.is(sha256(atClient.buffer), sha256(down));
  // The bulk switch is what this test exists to exercise: each direction's read buffer is its own.
  const readBuffer = (s: UvSocket) => (s as unknown as { current: Uint8Array }).current.length;
  t.is(readBuffer(a), 128 * 1024);
  t.is(readBuffer(b), 128 * 1024);
  await within(Promise.all([aClosed, bClosed]), 'both UvSockets close');
});

test('while the destination does not read, the relay stops reading instead of queueing, and resumes intact once it reads again', async (t) => {
  const { client, dest, a, b, relay } = await chain(t);
  relay();
  dest.pause();
  const payload = randomBytes(32 * MiB);
  client.end(payload);

  // Wait until the pipeline (client → A's kernel buffers, B → destination's) has filled up.
  await readsStall(a);
  // Hold the stall ~300 ms and watch what the relay side queues meanwhile (without relay-mode
  // backpressure, A would read the whole payload into B's write queue).
  let maxQueued = 0;
  const stalledAt = a.bytesRead;
  for (let i = 0; i < 30; i++) {
    maxQueued = Math.max(maxQueued, b.writableLength);
    await sleep(10);
  }
  const grewBy = a.bytesRead - stalledAt;
  t.true(grewBy < MiB, `A read ${grewBy} more bytes while the destination did not read`);
  t.true(a.bytesRead < payload.length / 2, `A read ${a.bytesRead} bytes of ${payload.length}`);
  t.true(maxQueued < 2 * MiB, `B queued up to ${maxQueued} bytes`);

  const atDest = new Received(dest);
  dest.resume();
  await within(atDest.end, "the destination's 'end'", bulkMs);
  t.is(atDest.bytes, payload.length);
  t.is(sha256(atDest.buffer), sha256(payload));
});

test('a direction of small reads also stops reading while the destination does not read, and resumes intact', async (t) => {
  const { client, dest, a, b, relay } = await chain(t);
  relay();
  dest.pause();
  // 8 KiB per event-loop turn: A reads each write on its own (well under the 32 KiB bulk
  // threshold), so this direction stays on the shared read buffer and its per-read copies.
  const chunk = 8 * 1024;
  const payload = randomBytes(16 * MiB);
  const ownBuffer = (s: UvSocket) => (s as unknown as { current: Uint8Array }).current.length === 128 * 1024;
  let maxQueued = 0;
  for (let offset = 0; offset < payload.length; offset += chunk) {
    client.write(payload.subarray(offset, offset + chunk));
    maxQueued = Math.max(maxQueued, b.writableLength);
    await new Promise<void>((r) => setImmediate(r));
  }
  await readsStall(a);
  const stalledAt = a.bytesRead;
  await sleep(100);
  t.false(ownBuffer(a), 'A switched to bulk reads: this test no longer covers small reads');
  const grewBy = a.bytesRead - stalledAt;
  t.true(grewBy < MiB, `A read ${grewBy} more bytes while the destination did not read`);
  t.true(stalledAt < payload.length / 2, `A read ${stalledAt} bytes of ${payload.length}`);
  t.true(maxQueued < MiB, `B queued up to ${maxQueued} bytes`);

  client.end();
  const atDest = new Received(dest);
  dest.resume();
  await within(atDest.end, "the destination's 'end'", bulkMs);
  t.is(atDest.bytes, payload.length);
  t.is(sha256(atDest.buffer), sha256(payload));
});

test('8 MiB reach a destination that reads in short bursts intact, through repeated pauses and resumes of the relay', async (t) => {
  const { client, dest, relay } = await chain(t);
  relay();
  const payload = randomBytes(8 * MiB);
  const atDest = new Received(dest);
  // Read a little, stop for a moment: the bulk direction fills B's queue, pauses, and resumes on
  // 'drain' many times over (reusing or replacing its read buffer each time).
  dest.on('data', () => {
    dest.pause();
    setTimeout(() => dest.resume(), 1);
  });
  client.end(payload);
  await within(atDest.end, "the destination's 'end'", bulkMs);
  t.is(atDest.bytes, payload.length);
  t.is(sha256(atDest.buffer), sha256(payload));
});

test('an EOF the client sent before relayTo was called still ends the destination, which can still answer', async (t) => {
  const { client, dest, a, aClosed, bClosed, relay } = await chain(t);
  const before = new Received(a);
  client.end('early bytes');
  await within(before.end, "A's 'end' before the relay");
  t.is(before.text(), 'early bytes');
  t.true(a.readableEnded);

  const atDest = new Received(dest);
  const atClient = new Received(client);
  relay();
  await within(atDest.end, "the destination's 'end'");
  t.is(atDest.bytes, 0, 'bytes read before the relay are not relayed again');

  dest.end('answer');
  await within(atClient.end, "the client's 'end'");
  t.is(atClient.text(), 'answer');
  await within(Promise.all([aClosed, bClosed]), 'both UvSockets close');
});

test("a client reset closes both UvSockets under the server's Relay, and the destination sees its connection end", async (t) => {
  const { client, dest, a, b, aClosed, bClosed } = await chain(t);
  let aError: NodeJS.ErrnoException | undefined;
  a.on('error', (err: NodeJS.ErrnoException) => {
    aError = err;
  });
  const relay = new Relay(a, b, { clientHandshakeBytes: 0, remoteHandshakeBytes: 0, early: null, idleMs: 0 });
  const atDest = new Received(dest);
  const destGone = new Promise<string>((resolve) => {
    dest.once('end', () => resolve('end'));
    dest.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
  client.write('before the reset');
  await receives(atDest, 'before the reset', 'bytes before the reset');
  client.resetAndDestroy();

  await within(aClosed, "A's 'close'");
  await within(bClosed, "B's 'close'");
  t.true(a.destroyed && b.destroyed);
  t.is(aError?.code, 'ECONNRESET');
  const how = await within(destGone, 'the destination sees its connection go');
  t.true(how === 'end' || how === 'ECONNRESET', how);
  const result = await within(relay.done, 'relay.done');
  t.is(result.reason, 'error');
  t.is(result.fromClient, 'before the reset'.length);
});
