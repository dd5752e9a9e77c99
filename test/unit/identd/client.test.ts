import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import test from 'ava';
import type { Clock } from '../../../src/common/clock.ts';
import { queryIdentd } from '../../../src/identd/client.ts';
import { describeIdentdBehaviour } from '../../../src/identd/fake-identd.ts';
import type { Conn, ConnectOptions, Net } from '../../../src/net/net.ts';

// The client against a Net that never touches the network: connect outcomes are scripted.

function manualClock(): Clock & { fire(): void; armed: number[] } {
  const pending: { fn: () => void; ms: number }[] = [];
  return {
    armed: [],
    now: () => 0,
    setTimeout(fn, ms) {
      const entry = { fn, ms };
      pending.push(entry);
      this.armed.push(ms);
      return {
        clear: () => {
          const i = pending.indexOf(entry);
          if (i >= 0) pending.splice(i, 1);
        },
      };
    },
    fire() {
      for (const e of pending.splice(0)) e.fn();
    },
  };
}

const base = { remote: { address: '10.9.9.9', port: 113 }, clientPort: 6191, serverPort: 1080 };

test('a refused connection is unavailable with the errno code, and nothing is thrown', async (t) => {
  const seen: ConnectOptions[] = [];
  const net: Net = {
    listen: () => Promise.reject(new Error('unused')),
    connect: (o) => {
      seen.push(o);
      return Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    },
  };
  const r = await queryIdentd({ net, ...base, localAddress: '10.9.0.1' });
  t.deepEqual(r, { kind: 'unavailable', reason: 'connect-failed', detail: 'ECONNREFUSED', answer: null });
  t.like(seen[0], { host: '10.9.9.9', port: 113, localAddress: '10.9.0.1', timeoutMs: 15_000 });
});

test('a connect that never completes is a timeout when the 15 s clock fires', async (t) => {
  const clock = manualClock();
  const net: Net = {
    listen: () => Promise.reject(new Error('unused')),
    connect: () => new Promise<Conn>(() => {}),
  };
  const pending = queryIdentd({ net, ...base, clock });
  t.deepEqual(clock.armed, [15_000]);
  clock.fire();
  t.like(await pending, { kind: 'unavailable', reason: 'timeout', answer: null });
});

test('a connection that completes after the timeout is closed at once', async (t) => {
  const clock = manualClock();
  let complete: ((c: Conn) => void) | undefined;
  const net: Net = {
    listen: () => Promise.reject(new Error('unused')),
    connect: () => new Promise<Conn>((r) => (complete = r)),
  };
  const pending = queryIdentd({ net, ...base, clock, timeoutMs: 50 });
  clock.fire();
  await pending;
  const stream = new PassThrough();
  complete?.({ socket: stream as unknown as Socket, local: base.remote, remote: base.remote });
  await new Promise((r) => setImmediate(r));
  t.true(stream.destroyed);
});

test('behaviours are described as the reports print them', (t) => {
  t.is(describeIdentdBehaviour({ kind: 'truthful' }), 'truthful');
  t.is(describeIdentdBehaviour({ kind: 'lying', user: 'nobody' }), 'lying:nobody');
  t.is(describeIdentdBehaviour({ kind: 'error', error: 'HIDDEN-USER' }), 'error:HIDDEN-USER');
  t.is(describeIdentdBehaviour({ kind: 'down' }), 'down');
});

test('a Net that throws synchronously still gives an unavailable result', async (t) => {
  const net: Net = {
    listen: () => Promise.reject(new Error('unused')),
    connect: () => {
      throw Object.assign(new Error('no route'), { code: 'ENETUNREACH' });
    },
  };
  t.like(await queryIdentd({ net, ...base }), {
    kind: 'unavailable',
    reason: 'connect-failed',
    detail: 'ENETUNREACH',
  });
});
