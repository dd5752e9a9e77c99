import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import type { ByteStream, Conn, ConnectOptions, Listener, ListenOptions, Net } from '../../../src/net/net.ts';
import { nodeNet } from '../../../src/net/node-net.ts';
import { productionNet } from '../../../src/net/production-net.ts';
import { UvSocket } from '../../../src/net/uv-socket.ts';
import { eventually } from '../../helpers/eventually.ts';
import { probeIpv6, testWhen } from '../../helpers/interop-tools.ts';
import { Received, sha256, within } from './_streams.ts';

/**
 * One behavioural contract (net.ts: Net, Listener, Conn, ByteStream) run against both Nets: NodeNet
 * over node:net and UvNet over bare libuv handles. Real sockets on 127.0.0.0/8 (and ::1 when the
 * host has it) only.
 */

const uvNet = productionNet('uv');
const nets: ReadonlyArray<readonly [string, Net]> = [
  ['node:net', nodeNet],
  ['libuv handles', uvNet],
];

const IPv4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const noop = (): void => {};

// ------------------------------------------------------------------ plumbing

/** The rejection of a promise that must reject. */
async function rejection(p: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await p;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  throw new Error('expected a rejection, got a value');
}

interface Accepting {
  readonly listener: Listener;
  next(): Promise<Conn>;
}

/**
 * A listener whose connections queue up for `next()`. Teardown destroys every connection this test
 * made and then closes the listener (node:net's close waits for open connections).
 */
async function listen(t: ExecutionContext, net: Net, options: ListenOptions): Promise<Accepting> {
  const ready: Conn[] = [];
  const waiting: Array<(conn: Conn) => void> = [];
  const all: Conn[] = [];
  const listener = await net.listen(options, (conn) => {
    conn.socket.on('error', noop);
    watchClose(conn.socket);
    all.push(conn);
    const waiter = waiting.shift();
    if (waiter) waiter(conn);
    else ready.push(conn);
  });
  t.teardown(async () => {
    for (const conn of all) conn.socket.destroy();
    await within(listener.close(), 'listener.close() in teardown');
  });
  return {
    listener,
    next: () => {
      const conn = ready.shift();
      return within(conn ? Promise.resolve(conn) : new Promise<Conn>((r) => waiting.push(r)), 'accept');
    },
  };
}

async function dial(t: ExecutionContext, net: Net, options: ConnectOptions): Promise<Conn> {
  const conn = await within(net.connect(options), `connect to ${options.host}:${options.port}`);
  conn.socket.on('error', noop);
  watchClose(conn.socket);
  t.teardown(() => {
    conn.socket.destroy();
  });
  return conn;
}

interface Pair {
  readonly listener: Listener;
  /** Our outbound end. */
  readonly dialled: Conn;
  /** The listener's end of the same connection. */
  readonly accepted: Conn;
}

/** One connection over loopback: a listener on `host` (port 0) and a dial to it. */
async function pair(
  t: ExecutionContext,
  net: Net,
  host = '127.0.0.1',
  dialOptions: Partial<ConnectOptions> = {},
): Promise<Pair> {
  const { listener, next } = await listen(t, net, { host, port: 0 });
  const dialled = await dial(t, net, { host, port: listener.local.port, ...dialOptions });
  const accepted = await next();
  return { listener, dialled, accepted };
}

/** Each socket's 'close' (node:net sets `closed` a little before it emits 'close'). */
const closeEvents = new WeakMap<ByteStream, Promise<boolean>>();

function watchClose(socket: ByteStream): void {
  closeEvents.set(socket, new Promise<boolean>((resolve) => socket.once('close', resolve)));
}

async function closed(socket: ByteStream, what: string): Promise<void> {
  const event = closeEvents.get(socket);
  if (event === undefined) throw new Error(`${what}: socket not made by listen() or dial()`);
  await within(event, what);
}

/** A port on 127.0.0.1 that nothing listens on (just released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * A 127.0.0.1 port whose connects hang: a child process listens with backlog 1 and then blocks
 * its event loop, so it never accepts; once the accept queue is full the kernel drops further SYNs.
 * Returns the port after filling the queue (fillers that connect, until one does not).
 */
async function blackholePort(t: ExecutionContext): Promise<number> {
  const script =
    "const s=require('node:net').createServer();" +
    "s.listen({host:'127.0.0.1',port:0,backlog:1},()=>process.stdout.write(s.address().port+'\\n'," +
    '()=>Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0)))';
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const line = await within(
    new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(String(d).trim()));
      child.once('exit', (code) => reject(new Error(`blackhole child exited (${code})`)));
    }),
    'blackhole child port',
  );
  const port = Number(line);
  const fillers: Socket[] = [];
  t.teardown(() => {
    for (const s of fillers) s.destroy();
  });
  for (let i = 0; i < 16; i++) {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.on('error', noop);
    fillers.push(s);
    // No 'connect' within 1 s is not yet proof of a dropped SYN: on a loaded machine this process
    // may have been descheduled past the timer with the connect already complete in the kernel,
    // and the timers phase runs before the poll phase that would report it. So the verdict waits
    // for setImmediate, which runs after one more poll of the event loop.
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => setImmediate(() => resolve(false)), 1000);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!connected) return port;
  }
  throw new Error('the blackhole listener kept accepting');
}

// ------------------------------------------------------------------ capabilities

const v6 = await probeIpv6();
const testV6 = testWhen('IPv6 loopback ::1', () => v6.loopback);
const testDualStack = testWhen('dual-stack [::] listener', () => v6.loopback ?? v6.dualStack);

// ------------------------------------------------------------------ the contract

for (const [name, net] of nets) {
  test(`${name}: the listener reports its resolved port and both ends agree on each other's addresses, also after closing`, async (t) => {
    const { listener, dialled, accepted } = await pair(t, net);
    t.is(listener.local.address, '127.0.0.1');
    t.true(listener.local.port > 0);
    const addresses = () => ({
      acceptedLocal: { ...accepted.local },
      acceptedRemote: { ...accepted.remote },
      dialledLocal: { ...dialled.local },
      dialledRemote: { ...dialled.remote },
    });
    const open = addresses();
    t.deepEqual(open.acceptedLocal, listener.local);
    t.deepEqual(open.dialledRemote, listener.local);
    t.deepEqual(open.acceptedRemote, open.dialledLocal);
    t.regex(open.dialledLocal.address, IPv4);
    t.is(open.dialledLocal.address, '127.0.0.1');
    t.not(open.dialledLocal.port, 0);
    t.not(open.dialledLocal.port, listener.local.port);
    t.is(dialled.socket.remoteAddress, '127.0.0.1');
    t.is(dialled.socket.remotePort, listener.local.port);
    t.is(accepted.socket.remotePort, dialled.local.port);

    dialled.socket.resume();
    accepted.socket.resume();
    dialled.socket.end();
    accepted.socket.end();
    await closed(dialled.socket, 'dialled close');
    await closed(accepted.socket, 'accepted close');
    t.deepEqual(addresses(), open);
  });

  test(`${name}: a connection accepted on 0.0.0.0 reports the real local address it arrived on`, async (t) => {
    const { listener, next } = await listen(t, net, { host: '0.0.0.0', port: 0 });
    t.is(listener.local.address, '0.0.0.0');
    for (const target of ['127.0.0.1', '127.0.0.2']) {
      const dialled = await dial(t, net, { host: target, port: listener.local.port });
      const accepted = await next();
      t.deepEqual(accepted.local, { address: target, port: listener.local.port }, target);
      t.deepEqual(dialled.remote, accepted.local, target);
      t.deepEqual(accepted.remote, dialled.local, target);
    }
  });

  test(`${name}: bytes flow both ways, and a 'data' listener added later starts reading`, async (t) => {
    const { dialled, accepted } = await pair(t, net);
    dialled.socket.write('ping');
    await sleep(30);
    const atServer = new Received(accepted.socket);
    await eventually(() => atServer.bytes >= 4, "the server's 'data' listener gets the bytes sent before it");
    t.is(atServer.buffer.toString(), 'ping');
    const atClient = new Received(dialled.socket);
    accepted.socket.write(Buffer.from('pong'));
    await eventually(() => atClient.bytes >= 4, 'the answer');
    t.is(atClient.buffer.toString(), 'pong');
  });

  test(`${name}: pause() holds data back until resume(), then 1 MiB arrives whole and in order`, async (t) => {
    const { dialled, accepted } = await pair(t, net);
    const got = new Received(accepted.socket);
    dialled.socket.write('first');
    await eventually(() => got.bytes === 5, 'the first bytes');
    accepted.socket.pause();
    const payload = randomBytes(1024 * 1024);
    dialled.socket.write(payload);
    dialled.socket.end();
    await sleep(100);
    t.is(got.bytes, 5, 'nothing is delivered while paused');
    t.false(got.ended, "no 'end' while paused");
    accepted.socket.resume();
    await eventually(() => got.ended, "'end' after resume()");
    const rest = got.buffer.subarray(5);
    t.is(got.buffer.subarray(0, 5).toString(), 'first');
    t.is(rest.length, payload.length);
    t.is(sha256(rest), sha256(payload));
  });

  test(`${name}: end() half-closes: the peer sees 'end' and can still answer, and 'close' comes only once both directions are done`, async (t) => {
    const { dialled, accepted } = await pair(t, net);
    const a = dialled.socket;
    const b = accepted.socket;
    const log: string[] = [];
    for (const [side, s] of [
      ['a', a],
      ['b', b],
    ] as const) {
      s.on('finish', () => log.push(`${side}:finish writableFinished=${s.writableFinished}`));
      s.on('end', () => log.push(`${side}:end readableEnded=${s.readableEnded}`));
      s.on('close', (hadError: boolean) => log.push(`${side}:close hadError=${hadError}`));
    }
    const atA = new Received(a);
    const atB = new Received(b);

    a.write('question');
    a.end();
    t.true(a.writableEnded);
    t.false(a.writableFinished, "writableFinished waits for 'finish'");
    await eventually(() => atB.ended, "b's 'end'");
    await eventually(() => a.writableFinished, "a's 'finish'");
    t.is(atB.buffer.toString(), 'question');
    t.true(b.readableEnded);
    t.false(b.writableEnded);
    t.false(a.readableEnded);
    t.deepEqual([...log].sort(), ['a:finish writableFinished=true', 'b:end readableEnded=true']);

    await sleep(50);
    t.false(a.closed, 'a is still open for reading');
    t.false(b.closed, 'b is still open for writing');
    t.false(a.destroyed);
    t.false(b.destroyed);
    b.write('answer');
    await eventually(() => atA.bytes === 6, 'the answer after the half-close');
    t.is(atA.buffer.toString(), 'answer');
    t.false(
      log.some((l) => l.includes('close')),
      "no 'close' before both directions are done",
    );

    log.push('b.end()');
    b.end();
    await closed(a, "a's close");
    await closed(b, "b's close");
    t.true(atA.ended);
    t.true(a.readableEnded && a.writableFinished && b.readableEnded && b.writableFinished);
    const at = (entry: string) => log.indexOf(entry);
    t.true(at('b.end()') < at('a:end readableEnded=true'), JSON.stringify(log));
    t.true(at('a:end readableEnded=true') < at('a:close hadError=false'), JSON.stringify(log));
    t.true(at('b:finish writableFinished=true') < at('b:close hadError=false'), JSON.stringify(log));
    t.true(at('b.end()') < at('b:finish writableFinished=true'), JSON.stringify(log));
    t.is(log.length, 7, JSON.stringify(log));

    t.is(a.bytesWritten, 8);
    t.is(a.bytesRead, 6);
    t.is(b.bytesRead, 8);
    t.is(b.bytesWritten, 6);
  });

  test(`${name}: writing to a peer that does not read returns false, 'drain' comes once it reads, and every byte arrives`, async (t) => {
    const { dialled, accepted } = await pair(t, net);
    const a = dialled.socket;
    const chunk = randomBytes(64 * 1024);
    const sent = createHash('sha256');
    let total = 0;
    // Write until write() says wait and then no 'drain' comes for 200 ms: only then is the path to
    // the peer full. A 'drain' soon after the first `false` is the kernel taking more without any
    // reader (on a loaded machine the ACKs that grow the send buffer are processed late), and a
    // Net that said 'drain' with nothing read ever would write the 256 MiB and fail here.
    for (;;) {
      let roomLeft = true;
      while (roomLeft) {
        if (total >= 256 * 1024 * 1024) return t.fail('the writer never stayed blocked');
        roomLeft = a.write(chunk);
        sent.update(chunk);
        total += chunk.length;
      }
      const drainedUnread = await Promise.race([
        new Promise<boolean>((resolve) => a.once('drain', () => resolve(true))),
        sleep(200).then(() => false),
      ]);
      if (!drainedUnread) break;
    }
    t.true(a.writableLength > 0, 'bytes are queued when write() says wait');
    let readerStarted = false;
    const drained = new Promise<boolean>((resolve) => a.once('drain', () => resolve(readerStarted)));
    const got = createHash('sha256');
    let bytes = 0;
    let ended = false;
    readerStarted = true;
    accepted.socket.on('data', (d: Buffer) => {
      got.update(d);
      bytes += d.length;
    });
    accepted.socket.on('end', () => {
      ended = true;
    });
    t.true(await within(drained, "'drain'"), "'drain' came only after the peer started reading");
    t.is(a.writableLength, 0);
    a.end();
    await eventually(() => ended, "the peer's 'end'");
    t.is(bytes, total);
    t.is(got.digest('hex'), sent.digest('hex'));
  });

  test(`${name}: connecting to a closed port rejects with ECONNREFUSED from connect`, async (t) => {
    const port = await closedPort();
    const err = await within(rejection(net.connect({ host: '127.0.0.1', port })), 'the refusal');
    t.is(err.code, 'ECONNREFUSED');
    t.is(err.syscall, 'connect');
  });

  test(`${name}: connecting where no handshake answers rejects with ETIMEDOUT after timeoutMs`, async (t) => {
    const port = await blackholePort(t);
    const started = performance.now();
    const err = await within(
      rejection(net.connect({ host: '127.0.0.1', port, timeoutMs: 150 })),
      'the timeout',
    );
    const elapsed = performance.now() - started;
    t.is(err.code, 'ETIMEDOUT');
    t.is(err.syscall, 'connect');
    t.true(elapsed >= 140, `rejected after ${elapsed} ms`);
    // The kernel's own connect timeout (SYN retries) takes minutes: seconds can only be ours, and
    // a loaded machine may deliver our 150 ms timer late.
    t.true(elapsed < 5000, `rejected after ${elapsed} ms`);
  });

  test(`${name}: connect with localAddress 127.0.0.2 leaves from that address`, async (t) => {
    const { dialled, accepted } = await pair(t, net, '127.0.0.1', { localAddress: '127.0.0.2' });
    t.is(dialled.local.address, '127.0.0.2');
    t.deepEqual(accepted.remote, dialled.local);
    t.is(accepted.socket.remoteAddress, '127.0.0.2');
  });

  test(`${name}: destroy(err) emits that error before 'close', and 'close' says it had an error`, async (t) => {
    const { dialled } = await pair(t, net);
    const boom = new Error('boom');
    const log: string[] = [];
    dialled.socket.on('error', (err: Error) =>
      log.push(err === boom ? 'error:boom' : `error:${err.message}`),
    );
    dialled.socket.on('close', (hadError: boolean) => log.push(`close hadError=${hadError}`));
    dialled.socket.destroy(boom);
    t.true(dialled.socket.destroyed);
    await closed(dialled.socket, 'close');
    t.true(dialled.socket.closed);
    await sleep(20);
    t.deepEqual(log, ['error:boom', 'close hadError=true']);
  });

  test(`${name}: destroy() without an error emits only 'close', without hadError`, async (t) => {
    const { dialled } = await pair(t, net);
    const log: string[] = [];
    dialled.socket.on('error', (err: Error) => log.push(`error:${err.message}`));
    dialled.socket.on('close', (hadError: boolean) => log.push(`close hadError=${hadError}`));
    dialled.socket.destroy();
    dialled.socket.destroy();
    await closed(dialled.socket, 'close');
    await sleep(20);
    t.deepEqual(log, ['close hadError=false']);
  });

  test(`${name}: write after end() does not throw, hands the callback an error and sends nothing`, async (t) => {
    const { dialled, accepted } = await pair(t, net);
    const got = new Received(accepted.socket);
    dialled.socket.write('early');
    dialled.socket.end();
    let cbErr: (Error & { code?: string }) | null | undefined;
    const called = new Promise<void>((resolve) => {
      t.notThrows(() => {
        t.false(
          dialled.socket.write('late', (err) => {
            cbErr = err;
            resolve();
          }),
        );
      });
    });
    await within(called, 'the write callback');
    t.truthy(cbErr, 'the callback gets an error');
    t.is(cbErr?.code, 'ERR_STREAM_WRITE_AFTER_END');
    await eventually(() => got.ended, "the peer's 'end'");
    t.is(got.buffer.toString(), 'early');
  });

  test(`${name}: bytesRead and bytesWritten count the bytes moved and stay readable after 'close'`, async (t) => {
    const { dialled, accepted } = await pair(t, net);
    const atServer = new Received(accepted.socket);
    const atClient = new Received(dialled.socket);
    dialled.socket.write(randomBytes(100_000));
    await eventually(() => atServer.bytes === 100_000, 'the upload');
    accepted.socket.write(randomBytes(3_000));
    await eventually(() => atClient.bytes === 3_000, 'the download');
    t.is(dialled.socket.bytesWritten, 100_000);
    t.is(dialled.socket.bytesRead, 3_000);
    dialled.socket.destroy();
    accepted.socket.destroy();
    await closed(dialled.socket, 'dialled close');
    await closed(accepted.socket, 'accepted close');
    t.deepEqual(
      [
        dialled.socket.bytesWritten,
        dialled.socket.bytesRead,
        accepted.socket.bytesRead,
        accepted.socket.bytesWritten,
      ],
      [100_000, 3_000, 100_000, 3_000],
    );
  });

  test(`${name}: setTimeout(ms) calls back after that much idleness without closing the socket`, async (t) => {
    const { dialled } = await pair(t, net);
    const started = performance.now();
    await within(new Promise<void>((resolve) => dialled.socket.setTimeout(100, resolve)), "'timeout'");
    const elapsed = performance.now() - started;
    t.true(elapsed >= 95, `fired after ${elapsed} ms`);
    // Late, not early, is what a loaded machine does to a timer.
    t.true(elapsed < 5000, `fired after ${elapsed} ms`);
    t.false(dialled.socket.destroyed);
  });

  test(`${name}: incoming data every 30 ms postpones the idle timeout`, async (t) => {
    const { dialled, accepted } = await pair(t, net);
    const got = new Received(dialled.socket);
    const idleMs = 400;
    const ticks = 20; // 600 ms of ticks: longer than idleMs, so an unpostponed timeout fires amid them
    // When the last byte arrived, taken in the reader itself (sampled after a polling wait it came
    // late on a loaded machine, and the quiet before the timeout looked too short).
    const armedAt = performance.now();
    let lastDataAt = armedAt;
    dialled.socket.on('data', () => {
      lastDataAt = performance.now();
    });
    // How long the socket had gone without data, as this process saw it, at each 'timeout'. A
    // loaded machine can stop the whole process for longer than idleMs between two ticks; to the
    // socket that is idleness, and a 'timeout' after it is right. One while data keeps coming, or
    // one not postponed by the ticks, finds data much less than idleMs before it.
    const idleAtTimeout: number[] = [];
    dialled.socket.on('timeout', () => idleAtTimeout.push(performance.now() - lastDataAt));
    dialled.socket.setTimeout(idleMs);
    for (let i = 0; i < ticks; i++) {
      await sleep(30);
      accepted.socket.write('.');
    }
    await eventually(() => got.bytes === ticks, 'the ticks');
    t.true(lastDataAt - armedAt > idleMs, `the ticks ended ${lastDataAt - armedAt} ms after arming`);
    const quietEnough = () => idleAtTimeout.every((idle) => idle >= 0.75 * idleMs);
    t.true(
      quietEnough(),
      `no timeout while data keeps coming: ms without data ${JSON.stringify(idleAtTimeout)}`,
    );
    const duringTicks = idleAtTimeout.length;
    await eventually(() => idleAtTimeout.length > duringTicks, "'timeout' once the data stops");
    t.true(quietEnough(), `'timeout' only after idleMs without data: ${JSON.stringify(idleAtTimeout)}`);
  });

  test(`${name}: setTimeout(0) cancels a pending idle timeout`, async (t) => {
    const { dialled } = await pair(t, net);
    let fired = 0;
    dialled.socket.on('timeout', () => fired++);
    dialled.socket.setTimeout(60);
    dialled.socket.setTimeout(0);
    await sleep(200);
    t.is(fired, 0);
    dialled.socket.setTimeout(30);
    await eventually(() => fired === 1, 'a timeout armed again');
  });

  test(`${name}: listener.close() resolves, twice too, and later connects are refused`, async (t) => {
    const listener = await net.listen({ host: '127.0.0.1', port: 0 }, (conn) => conn.socket.destroy());
    t.teardown(() => listener.close());
    const { port } = listener.local;
    const conn = await dial(t, net, { host: '127.0.0.1', port });
    conn.socket.destroy();
    await closed(conn.socket, 'close');
    await within(listener.close(), 'the first close()');
    await within(listener.close(), 'the second close()');
    const err = await within(rejection(net.connect({ host: '127.0.0.1', port })), 'the refusal');
    t.is(err.code, 'ECONNREFUSED');
  });

  testV6(`${name}: a listener on ::1 takes an IPv6 connection and both ends report ::1`, async (t) => {
    const { listener, dialled, accepted } = await pair(t, net, '::1');
    t.deepEqual(listener.local.address, '::1');
    t.deepEqual(accepted.local, listener.local);
    t.deepEqual(dialled.remote, listener.local);
    t.is(dialled.local.address, '::1');
    t.deepEqual(accepted.remote, dialled.local);
    const got = new Received(accepted.socket);
    dialled.socket.write('six');
    await eventually(() => got.bytes === 3, 'the bytes over ::1');
    t.is(got.buffer.toString(), 'six');
  });

  testDualStack(`${name}: a dual-stack listener on :: shows IPv4 peers as a.b.c.d`, async (t) => {
    const { listener, next } = await listen(t, net, { host: '::', port: 0 });
    t.is(listener.local.address, '::');
    const dialled = await dial(t, net, { host: '127.0.0.1', port: listener.local.port });
    const accepted = await next();
    t.deepEqual(accepted.local, { address: '127.0.0.1', port: listener.local.port });
    t.regex(accepted.remote.address, IPv4);
    t.deepEqual(accepted.remote, dialled.local);
  });
}

// ------------------------------------------------------------------ UvSocket only

test('libuv handles: both ends of a connection are UvSockets (the handle bindings loaded)', async (t) => {
  const { dialled, accepted } = await pair(t, uvNet);
  t.true(dialled.socket instanceof UvSocket);
  t.true(accepted.socket instanceof UvSocket);
});

test("libuv handles: readInto() from a 'data' listener moves later reads into the caller's buffer, and pause() in onRead holds them until resume()", async (t) => {
  const { dialled, accepted } = await pair(t, uvNet);
  const socket = accepted.socket;
  if (!(socket instanceof UvSocket)) return t.fail('the accepted socket is not a UvSocket');
  const buffer = Buffer.alloc(4096);
  const viaData: Buffer[] = [];
  const viaInto: Buffer[] = [];
  let stopNext = true;
  let ended = false;
  const onRead = (n: number): Uint8Array => {
    viaInto.push(Buffer.from(buffer.subarray(0, n)));
    if (stopNext) {
      stopNext = false;
      socket.pause();
    }
    return buffer;
  };
  socket.on('data', (chunk: Buffer) => {
    viaData.push(Buffer.from(chunk));
    if (viaData.length === 1) t.true(socket.readInto(buffer, onRead));
  });
  socket.on('end', () => {
    ended = true;
  });
  const payload = randomBytes(200_000);
  const sum = (chunks: Buffer[]) => chunks.reduce((s, c) => s + c.length, 0);
  dialled.socket.write(payload.subarray(0, 1000));
  await eventually(() => viaData.length === 1, 'the first read, as a data event');
  dialled.socket.write(payload.subarray(1000, 2000));
  await eventually(() => viaInto.length >= 1, 'the first read into the buffer');
  const intoAtPause = sum(viaInto);
  dialled.socket.write(payload.subarray(2000));
  dialled.socket.end();
  await sleep(100);
  t.is(sum(viaInto), intoAtPause, 'nothing is read after onRead paused');
  t.false(ended);
  socket.resume();
  await eventually(() => ended, "'end' after resume()");
  t.is(viaData.length, 1, "no 'data' events once reads go into the buffer");
  t.true(viaInto.every((c) => c.length > 0 && c.length <= buffer.length));
  t.is(sum(viaData) + sum(viaInto), payload.length);
  t.is(sha256(Buffer.concat([...viaData, ...viaInto])), sha256(payload));
});
