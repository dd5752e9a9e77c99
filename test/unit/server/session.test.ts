import { connect, createServer, type Socket } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import type { Clock } from '../../../src/common/clock.ts';
import type { LabEvent } from '../../../src/common/events.ts';
import { builtinServices } from '../../../src/config/services.ts';
import { parseSockdConf } from '../../../src/config/sockd-conf.ts';
import type { Conn, Net } from '../../../src/net/net.ts';
import { encodeSocks4Request } from '../../../src/protocol/socks4.ts';
import type { IdentdClient } from '../../../src/server/identd-query.ts';
import { defaultTimers } from '../../../src/server/options.ts';
import { Session, type SessionContext } from '../../../src/server/session.ts';

// The session's state machine on a real loopback connection, with its timers on a manual clock
// and its dialling and identd scripted: request read → decided → dialled → replied/ended, and
// every way out of each state.

/** A clock whose timers run only when the test fires them, by their duration. */
function manualClock(): Clock & { fire(ms: number): number } {
  const pending: { fn: () => void; ms: number }[] = [];
  return {
    now: () => 0,
    setTimeout(fn, ms) {
      const entry = { fn, ms };
      pending.push(entry);
      return {
        clear: () => {
          const i = pending.indexOf(entry);
          if (i >= 0) pending.splice(i, 1);
        },
      };
    },
    fire(ms) {
      const due = pending.filter((e) => e.ms === ms);
      for (const e of due) pending.splice(pending.indexOf(e), 1);
      for (const e of due) e.fn();
      return due.length;
    },
  };
}

/** A dial that never completes (a destination that does not answer). */
const hangingNet: Net = {
  listen: () => Promise.reject(new Error('not used')),
  connect: () => new Promise<Conn>(() => {}),
};

interface Harness {
  readonly client: Socket;
  readonly session: Session;
  readonly clock: ReturnType<typeof manualClock>;
  readonly events: LabEvent[];
  readonly logs: string[];
  /** Everything the client has received so far. */
  received(): Buffer;
  /** Resolves once the client's connection has closed. */
  readonly closed: Promise<void>;
}

async function harness(
  t: ExecutionContext,
  sockdConf: string,
  over: { identd?: IdentdClient } = {},
): Promise<Harness> {
  const server = createServer({ allowHalfOpen: true });
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const client = connect({ host: '127.0.0.1', port });
  const socket = await accepted;
  t.teardown(() => {
    client.destroy();
    socket.destroy();
  });
  let got = Buffer.alloc(0);
  client.on('data', (chunk: Buffer) => {
    got = Buffer.concat([got, chunk]);
  });
  client.on('error', () => {});
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  const clock = manualClock();
  const events: LabEvent[] = [];
  const logs: string[] = [];
  const ctx: SessionContext = {
    mode: 'sockd',
    net: hangingNet,
    resolver: { reverse: async () => [], forward: async () => [] },
    userFiles: () => ({ ok: false, error: 'none' }),
    userFilesAsync: undefined,
    services: builtinServices,
    serviceNameOf: (p) => builtinServices.nameOf(p),
    identd: over.identd ?? (async () => ({ kind: 'unavailable', reason: 'not asked', answer: null })),
    identdDefault: 'off',
    identdPort: 113,
    socks5: false,
    socks5Auth: 'optional',
    passwd: null,
    timers,
    clock,
    keepAliveMs: 0,
    upstreamPort: 1080,
    defaultServer: undefined,
    multihomed: false,
    routeConnect: false,
    routePath: '/test/sockd.route',
    commands: { run: async () => {} } as unknown as SessionContext['commands'],
    pid: 1,
    hostLabel: undefined,
    events: { emit: (e) => events.push(e) },
    log: { write: (_level, message) => logs.push(message) },
    rules: () => ({ server: parseSockdConf(sockdConf, { file: '/test/sockd.conf' }) }),
  };
  const conn: Conn = {
    socket,
    local: { address: socket.localAddress ?? '', port: socket.localPort ?? 0 },
    remote: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
  };
  const session = new Session(ctx, conn, '1');
  return { client, session, clock, events, logs, received: () => got, closed };
}

const closeReason = (events: LabEvent[]) => events.flatMap((e) => (e.type === 'close' ? [e.reason] : []));

/** Polls `cond` (called once per try: it may act) until it holds. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Distinct durations, so each timer is fired by its own. */
const timers = { ...defaultTimers, requestRead: 1_111, establish: 2_222 };

const request = encodeSocks4Request({ command: 'connect', port: 7, address: '127.0.0.9', user: 'alice' });

test('a client that sends no complete request before the request timer ends is closed without a reply', async (t) => {
  const h = await harness(t, 'permit 0.0.0.0 0.0.0.0\n');
  h.client.write(request.subarray(0, 5)); // part of the header only
  await new Promise((r) => setTimeout(r, 50));
  t.is(h.clock.fire(timers.requestRead), 1, 'the request timer was armed');
  await h.closed;
  await h.session.done;
  t.is(h.received().length, 0);
  t.is(closeReason(h.events).length, 1);
});

test('a request sockd.conf denies gets reply 91 and the session ends refused', async (t) => {
  const h = await harness(t, 'deny 0.0.0.0 0.0.0.0\n');
  h.client.write(request);
  await h.closed;
  await h.session.done;
  t.deepEqual([...h.received().subarray(0, 2)], [0, 91]);
  t.deepEqual(closeReason(h.events), ['refused']);
  t.true(h.logs.some((l) => l.startsWith('refused -- ')));
});

test('a permitted SOCKS 4 CONNECT whose dial never completes ends timed-out without a reply when the establishment timer fires (b.7)', async (t) => {
  const h = await harness(t, 'permit 0.0.0.0 0.0.0.0\n');
  h.client.write(request);
  await until(() => h.events.some((e) => e.type === 'decision'), 'the decision');
  await until(() => h.clock.fire(timers.establish) === 1, 'the establishment timer');
  await h.closed;
  await h.session.done;
  t.is(h.received().length, 0);
  t.deepEqual(closeReason(h.events), ['establish-timeout']);
  t.true(
    h.logs.some((l) => l.includes('timed-out')),
    h.logs.join('\n'),
  );
});

test('a client that resets while identd is asked gets no reply and the session ends client-gone', async (t) => {
  let answer!: (r: Awaited<ReturnType<IdentdClient>>) => void;
  let identdAsked = false;
  const h = await harness(t, 'permit ?=I 0.0.0.0 0.0.0.0\n', {
    identd: () => {
      identdAsked = true;
      return new Promise((resolve) => {
        answer = resolve;
      });
    },
  });
  h.client.write(request);
  await until(() => identdAsked, 'the identd query');
  h.client.resetAndDestroy(); // gone for good (a FIN alone is a half-close the session waits out)
  await new Promise((r) => setTimeout(r, 50));
  answer({ kind: 'user', user: 'alice', answer: 'USERID : UNIX : alice' });
  await h.session.done;
  t.deepEqual(closeReason(h.events), ['client-gone']);
  t.false(h.events.some((e) => e.type === 'reply'));
});
