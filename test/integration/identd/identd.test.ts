import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import test from 'ava';
import type { Clock } from '../../../src/common/clock.ts';
import type { LabEvent } from '../../../src/common/events.ts';
import { type IdentdResult, queryIdentd } from '../../../src/identd/client.ts';
import {
  type FakeIdentd,
  IDENTD_GARBAGE_LINE,
  type IdentdLookupQuery,
  startFakeIdentd,
} from '../../../src/identd/fake-identd.ts';
import { nodeNet } from '../../../src/net/node-net.ts';
import type { IdentdBehaviour } from '../../../src/topology/model.ts';
import { eventually } from '../../helpers/eventually.ts';

// Real sockets on loopback only. Each test starts its own identd on an ephemeral port. The
// exchanges that must succeed get 10 s timers (identd's read timer, the client's whole exchange):
// on a loaded machine a 2 s timer could fire before a loopback exchange was served.
const Patient = 10_000;

interface Started {
  identd: FakeIdentd;
  events: LabEvent[];
  lookups: IdentdLookupQuery[];
}

async function start(
  behaviour: IdentdBehaviour,
  owner: string | null = 'alice',
  readTimeoutMs = Patient,
): Promise<Started> {
  const events: LabEvent[] = [];
  const lookups: IdentdLookupQuery[] = [];
  const identd = await startFakeIdentd({
    net: nodeNet,
    host: '127.0.0.1',
    port: 0,
    behaviour,
    lookup: (q) => {
      lookups.push(q);
      return owner;
    },
    events: { emit: (e) => events.push(e) },
    hostLabel: 'C',
    readTimeoutMs,
  });
  return { identd, events, lookups };
}

function ask(identd: FakeIdentd, extra: { timeoutMs?: number; localAddress?: string; clock?: Clock } = {}) {
  return queryIdentd({
    net: nodeNet,
    remote: identd.endpoint,
    clientPort: 6191,
    serverPort: 1080,
    timeoutMs: extra.timeoutMs ?? Patient,
    ...(extra.localAddress !== undefined ? { localAddress: extra.localAddress } : {}),
    ...(extra.clock !== undefined ? { clock: extra.clock } : {}),
  });
}

test('a truthful identd names the owner its lookup reports, for the ports of the query', async (t) => {
  const { identd, events, lookups } = await start({ kind: 'truthful' });
  await using _ = identd;
  const r = await ask(identd);
  t.deepEqual(r, { kind: 'user', user: 'alice', answer: '6191 , 1080 : USERID : UNIX : alice' });
  t.is(lookups.length, 1);
  t.like(lookups[0], { localPort: 6191, remotePort: 1080, peer: { address: '127.0.0.1' } });
  t.is(lookups[0]?.local.port, identd.endpoint.port);
  t.like(events[0], {
    type: 'identd-served',
    service: 'identd',
    host: 'C',
    query: '6191 , 1080',
    answer: '6191 , 1080 : USERID : UNIX : alice',
    behaviour: 'truthful',
  });
});

test('a truthful identd that knows no owner answers ERROR : NO-USER, which is unavailable', async (t) => {
  const { identd } = await start({ kind: 'truthful' }, null);
  await using _ = identd;
  t.deepEqual(await ask(identd), {
    kind: 'unavailable',
    reason: 'error-answer',
    detail: 'NO-USER',
    answer: '6191 , 1080 : ERROR : NO-USER',
  });
});

test('the query leaves from the given local address (the server side of the client connection)', async (t) => {
  const { identd, lookups } = await start({ kind: 'truthful' });
  await using _ = identd;
  const r = await ask(identd, { localAddress: '127.0.0.2' });
  t.is(r.kind, 'user');
  t.is(lookups[0]?.peer.address, '127.0.0.2');
});

test('a down identd refuses the connection; switching it back up listens on the same port again', async (t) => {
  const { identd } = await start({ kind: 'truthful' });
  await using _ = identd;
  const port = identd.endpoint.port;
  await identd.setBehaviour({ kind: 'down' });
  t.false(identd.listening);
  const r = await ask(identd);
  t.like(r, { kind: 'unavailable', reason: 'connect-failed', detail: 'ECONNREFUSED', answer: null });
  await identd.setBehaviour({ kind: 'truthful' });
  t.is(identd.endpoint.port, port);
  t.is((await ask(identd)).kind, 'user');
});

test('a silent identd makes the query time out after timeoutMs', async (t) => {
  const { identd, events } = await start({ kind: 'silent' });
  await using _ = identd;
  // 1 s, not less: the identd must have read the query before the asker gives up, and a loaded
  // machine may take a few hundred ms to get the connection that far. The upper bound stays far
  // below the client's 15 s default, so it still shows that timeoutMs is the timer in force.
  const began = Date.now();
  const r = await ask(identd, { timeoutMs: 1000 });
  const took = Date.now() - began;
  t.like(r, { kind: 'unavailable', reason: 'timeout', answer: null });
  t.true(took >= 990 && took < 10_000, `took ${took} ms`);
  // The identd reads the query as the connection's data, which may trail the client's timer.
  await eventually(() => events.length > 0, 'the silent identd served the query', Patient);
  t.like(events[0], { query: '6191 , 1080', answer: null, behaviour: 'silent' });
});

test('the identd timeout follows an injected clock, not wall time', async (t) => {
  const { identd } = await start({ kind: 'silent' });
  await using _ = identd;
  let fire: (() => void) | undefined;
  const manual: Clock = {
    now: () => 0,
    setTimeout(fn) {
      fire = fn;
      return { clear: () => (fire = undefined) };
    },
  };
  const pending = ask(identd, { timeoutMs: 15_000, clock: manual });
  await eventually(() => fire !== undefined, 'the exchange armed its timer on the clock', Patient);
  t.truthy(fire, 'the exchange armed its timer on the clock');
  fire?.();
  t.like(await pending, { kind: 'unavailable', reason: 'timeout' });
});

test('a lying identd reports its fixed user', async (t) => {
  const { identd, events } = await start({ kind: 'lying', user: 'mallory' });
  await using _ = identd;
  t.like(await ask(identd), { kind: 'user', user: 'mallory' });
  t.like(events[0], { behaviour: 'lying:mallory' });
});

for (const error of ['NO-USER', 'HIDDEN-USER', 'UNKNOWN-ERROR'] as const) {
  test(`an identd answering ERROR : ${error} is unavailable`, async (t) => {
    const { identd, events } = await start({ kind: 'error', error });
    await using _ = identd;
    t.deepEqual(await ask(identd), {
      kind: 'unavailable',
      reason: 'error-answer',
      detail: error,
      answer: `6191 , 1080 : ERROR : ${error}`,
    });
    t.like(events[0], { behaviour: `error:${error}` });
  });
}

test('an identd answering garbage is unavailable (malformed) and the raw line is kept', async (t) => {
  const { identd } = await start({ kind: 'garbage' });
  await using _ = identd;
  const r = await ask(identd);
  t.like(r, { kind: 'unavailable', reason: 'malformed', answer: IDENTD_GARBAGE_LINE.replace(/\r\n$/, '') });
});

test('the behaviour can be switched while the identd runs', async (t) => {
  const { identd } = await start({ kind: 'truthful' });
  await using _ = identd;
  t.like(await ask(identd), { kind: 'user', user: 'alice' });
  await identd.setBehaviour({ kind: 'lying', user: 'nobody' });
  t.like(await ask(identd), { kind: 'user', user: 'nobody' });
  await identd.setBehaviour({ kind: 'error', error: 'HIDDEN-USER' });
  t.like(await ask(identd), { kind: 'unavailable', detail: 'HIDDEN-USER' });
});

// ---- the client against hand-written servers

async function rawServer(onSocket: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onSocket);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : 0 };
}

async function askRaw(onSocket: (s: Socket) => void): Promise<{ result: IdentdResult; query: string }> {
  let query = '';
  const { server, port } = await rawServer((s) => {
    s.on('data', (d) => (query += d.toString('latin1')));
    onSocket(s);
  });
  try {
    const result = await queryIdentd({
      net: nodeNet,
      remote: { address: '127.0.0.1', port },
      clientPort: 6191,
      serverPort: 1080,
      timeoutMs: Patient,
    });
    return { result, query };
  } finally {
    server.close();
  }
}

test('the client sends exactly `6191 , 1080` CR LF and reads an answer that arrives in pieces', async (t) => {
  const answer = '6191 , 1080 : USERID : UNIX,US-ASCII :   gina   \r\n';
  const { result, query } = await askRaw((s) => {
    s.once('data', async () => {
      for (const ch of answer) {
        s.write(ch);
        await new Promise((r) => setTimeout(r, 1));
      }
    });
  });
  t.is(query, '6191 , 1080\r\n');
  t.deepEqual(result, { kind: 'user', user: 'gina', answer: answer.slice(0, -2) });
});

test('an answer with no line end in its first 1000 bytes is unavailable', async (t) => {
  const { result } = await askRaw((s) => s.once('data', () => s.write('x'.repeat(1000))));
  t.like(result, { kind: 'unavailable', reason: 'line-too-long' });
});

test('a line of 999 bytes then LF is still read', async (t) => {
  const line = `1,2:USERID:UNIX:${'u'.repeat(999 - 16)}`;
  const { result } = await askRaw((s) => s.once('data', () => s.write(`${line}\n`)));
  t.like(result, { kind: 'user', answer: line });
});

test('an identd that closes before a line end is unavailable (closed early)', async (t) => {
  const { result } = await askRaw((s) => s.once('data', () => s.end('6191 , 1080 : USERID : UNIX : al')));
  t.like(result, { kind: 'unavailable', reason: 'closed-early', answer: null });
});

// ---- the fake server's own bounds

function rawClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

function closedWith(s: Socket): Promise<string> {
  let got = '';
  s.on('data', (d) => (got += d.toString('latin1')));
  return new Promise((resolve) => s.on('close', () => resolve(got)));
}

test('the fake identd drops a connection that sends no line within its read timeout', async (t) => {
  const { identd, events } = await start({ kind: 'truthful' }, 'alice', 200);
  await using _ = identd;
  // Taken before connecting: the identd's timer starts when it accepts, which a loaded machine
  // may do well before this side hears its connect complete.
  const began = Date.now();
  const s = await rawClient(identd.endpoint.port);
  const closed = closedWith(s);
  t.is(await closed, '');
  t.true(Date.now() - began >= 190, `closed after ${Date.now() - began} ms`);
  t.is(events.length, 0);
});

test('the fake identd drops a query longer than 1000 bytes without answering', async (t) => {
  const { identd } = await start({ kind: 'truthful' });
  await using _ = identd;
  const s = await rawClient(identd.endpoint.port);
  const closed = closedWith(s);
  s.write('1'.repeat(1001));
  t.is(await closed, '');
});

test('the fake identd answers INVALID-PORT for a port 0 and closes on a non-query', async (t) => {
  const { identd } = await start({ kind: 'truthful' });
  await using _ = identd;
  const a = await rawClient(identd.endpoint.port);
  const answered = closedWith(a);
  a.write('0 , 1080\r\n');
  t.is(await answered, '0 , 1080 : ERROR : INVALID-PORT\r\n');
  const b = await rawClient(identd.endpoint.port);
  const dropped = closedWith(b);
  b.write('hello\r\n');
  t.is(await dropped, '');
});

test('closing the fake identd ends held silent connections and frees the port', async (t) => {
  const { identd, events } = await start({ kind: 'silent' });
  const s = await rawClient(identd.endpoint.port);
  const closed = closedWith(s);
  s.write('1 , 2\r\n');
  // Held: the identd has read the query (and, being silent, will never answer it).
  await eventually(() => events.length === 1, 'the silent identd read the query', Patient);
  await identd.close();
  t.is(await closed, '');
  t.false(identd.listening);
  const r = await ask(identd);
  t.like(r, { kind: 'unavailable', reason: 'connect-failed' });
});
