import test from 'ava';
import type { Clock } from '../../../src/common/clock.ts';
import { TableResolver, withCache, withLookupTimeout } from '../../../src/server/resolvers.ts';

// The --hosts fixture resolver, the DNS timer (b.7) and the answer cache.

function manualClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return { clear: () => (t.live = false) };
    },
    advance(ms) {
      now += ms;
      for (const t of timers)
        if (t.live && t.at <= now) {
          t.live = false;
          t.fn();
        }
    },
  };
}

test('a hosts table answers reverse with primary name then aliases, forward case-insensitively', async (t) => {
  const r = new TableResolver('# fixture\n10.1.1.1 alpha.lab a\n10.1.1.2 beta.lab\n10.1.1.3 alpha.lab\n');
  t.deepEqual(await r.reverse('10.1.1.1'), ['alpha.lab', 'a']);
  t.deepEqual(await r.forward('ALPHA.lab'), ['10.1.1.1', '10.1.1.3']);
  t.deepEqual(await r.forward('gamma.lab'), []);
  t.deepEqual(await r.forward('10.9.9.9'), ['10.9.9.9']);
  t.deepEqual(await r.reverse('10.9.9.9'), []);
});

test('a lookup slower than the DNS timer counts as no answer', async (t) => {
  const clock = manualClock();
  const slow = { reverse: () => new Promise<string[]>(() => {}), forward: async () => ['1.2.3.4'] };
  const r = withLookupTimeout(slow, 10_000, clock);
  const pending = r.reverse('1.2.3.4');
  clock.advance(10_000);
  t.deepEqual(await pending, []);
  t.deepEqual(await r.forward('x'), ['1.2.3.4']);
});

test('the cache answers repeated questions without asking again until the TTL passes', async (t) => {
  const clock = manualClock();
  let asked = 0;
  const inner = {
    reverse: async () => {
      asked++;
      return ['n'];
    },
    forward: async () => {
      asked++;
      return [];
    },
  };
  const r = withCache(inner, clock, { ttlMs: 1000, negativeTtlMs: 100 });
  await r.reverse('1.1.1.1');
  await r.reverse('1.1.1.1');
  t.is(asked, 1);
  clock.advance(1001);
  await r.reverse('1.1.1.1');
  t.is(asked, 2);
  await r.forward('none');
  clock.advance(101);
  await r.forward('none');
  t.is(asked, 4, 'empty answers expire sooner');
});

test('an expired answer is still served at once while one refresh runs in the background', async (t) => {
  const clock = manualClock();
  let asked = 0;
  let answer: (v: string[]) => void = () => {};
  const inner = {
    reverse: () => {
      asked++;
      return asked === 1 ? Promise.resolve(['old.lab']) : new Promise<string[]>((r) => (answer = r));
    },
    forward: async () => [],
  };
  const r = withCache(inner, clock, { ttlMs: 1000, negativeTtlMs: 100 });
  t.deepEqual(await r.reverse('1.1.1.1'), ['old.lab']);
  clock.advance(1001);
  t.deepEqual(await r.reverse('1.1.1.1'), ['old.lab'], 'stale answer, no waiting');
  t.deepEqual(await r.reverse('1.1.1.1'), ['old.lab']);
  t.is(asked, 2, 'one refresh only');
  answer(['new.lab']);
  await new Promise((res) => setImmediate(res));
  t.deepEqual(await r.reverse('1.1.1.1'), ['new.lab']);
});

test('behind the DNS timer, a cached answer needs no timer; a miss is still bounded', async (t) => {
  const clock = manualClock();
  let timers = 0;
  const counting: Clock = {
    now: clock.now,
    setTimeout(fn, ms) {
      timers++;
      return clock.setTimeout(fn, ms);
    },
  };
  const inner = { reverse: async () => ['n.lab'], forward: () => new Promise<string[]>(() => {}) };
  const r = withLookupTimeout(withCache(inner, clock), 5000, counting);
  t.deepEqual(await r.reverse('1.1.1.1'), ['n.lab']);
  t.is(timers, 1);
  t.deepEqual(await r.reverse('1.1.1.1'), ['n.lab']);
  t.is(timers, 1, 'the hit took no timer');
  const pending = r.forward('slow.lab');
  clock.advance(5000);
  t.deepEqual(await pending, []);
});

test('a held answer is there without waiting only once a lookup brought it, and follows the cache', async (t) => {
  const clock = manualClock();
  let answer: (v: string[]) => void = () => {};
  let asked = 0;
  const inner = {
    reverse: () => {
      asked++;
      return asked === 1 ? Promise.resolve(['a.lab']) : new Promise<string[]>((r) => (answer = r));
    },
    forward: async () => ['10.0.0.1'],
  };
  const r = withLookupTimeout(withCache(inner, clock, { ttlMs: 1000, negativeTtlMs: 100 }), 5000, clock);
  t.is(r.held?.('reverse', '10.0.0.1'), undefined, 'nothing held before the first lookup');
  await r.reverse('10.0.0.1');
  t.deepEqual(r.held?.('reverse', '10.0.0.1'), ['a.lab']);
  t.is(r.held?.('forward', 'a.lab'), undefined, 'forward and reverse are held apart');
  clock.advance(1001);
  // Expired: still held (served at once) while the refresh that holding it started is under way.
  t.deepEqual(r.held?.('reverse', '10.0.0.1'), ['a.lab']);
  t.is(asked, 2, 'holding an expired answer started one refresh');
  answer(['b.lab']);
  await new Promise((res) => setImmediate(res));
  t.deepEqual(r.held?.('reverse', '10.0.0.1'), ['b.lab']);
});

test('a hosts table holds every answer, names case-insensitively and addresses as themselves', (t) => {
  const r = new TableResolver('10.1.1.1 alpha.lab a\n');
  t.deepEqual(r.held('reverse', '10.1.1.1'), ['alpha.lab', 'a']);
  t.deepEqual(r.held('forward', 'ALPHA.LAB'), ['10.1.1.1']);
  t.deepEqual(r.held('forward', '10.2.2.2'), ['10.2.2.2']);
  t.deepEqual(r.held('reverse', '10.9.9.9'), []);
});

test('the cache keys names without case but asks with the name as given, and bounds each kind', async (t) => {
  const clock = manualClock();
  const asked: string[] = [];
  const inner = {
    reverse: async (a: string) => {
      asked.push(`r ${a}`);
      return ['n.lab'];
    },
    forward: async (n: string) => {
      asked.push(`f ${n}`);
      return ['10.0.0.1'];
    },
  };
  const r = withCache(inner, clock, { maxEntries: 2 });
  t.deepEqual(await r.forward('Mixed.Lab'), ['10.0.0.1']);
  t.deepEqual(await r.forward('mixed.lab'), ['10.0.0.1']);
  t.deepEqual(r.held?.('forward', 'MIXED.LAB'), ['10.0.0.1']);
  t.deepEqual(asked, ['f Mixed.Lab'], 'one question, in the case it was asked');
  for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) await r.reverse(a);
  t.is(r.held?.('reverse', '10.0.0.1'), undefined, 'a third address pushed the oldest out');
  t.deepEqual(r.held?.('reverse', '10.0.0.3'), ['n.lab']);
  t.deepEqual(r.held?.('forward', 'mixed.lab'), ['10.0.0.1'], 'names are bounded apart from addresses');
});
