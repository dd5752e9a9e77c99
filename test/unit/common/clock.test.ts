import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { systemClock } from '../../../src/common/clock.ts';

// The system clock's timers: one list per duration, one Node timer per list (src/common/clock.ts).

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `list` has `n` entries (the test suite may be running many workers on two cores). */
async function settled(list: readonly unknown[], n: number): Promise<void> {
  for (let waited = 0; list.length < n && waited < 5000; waited += 10) await sleep(10);
}

/** A timer of `ms`: when it was set, and a promise of when it fired. */
function timed(ms: number): { fired: Promise<number>; setAt: number } {
  const setAt = performance.now();
  const fired = new Promise<number>((resolve) => {
    systemClock.setTimeout(() => resolve(performance.now()), ms);
  });
  return { fired, setAt };
}

test('a timer fires once its delay has passed, not before', async (t) => {
  const a = timed(40);
  const at = await a.fired;
  t.true(at - a.setAt >= 39, `fired after ${at - a.setAt} ms`);
});

test('timers of one duration fire in the order they were set, and a cleared one never fires', async (t) => {
  const order: string[] = [];
  systemClock.setTimeout(() => order.push('a'), 30);
  const b = systemClock.setTimeout(() => order.push('b'), 30);
  systemClock.setTimeout(() => order.push('c'), 30);
  b.clear();
  b.clear(); // twice is harmless
  await settled(order, 2);
  await sleep(50); // and b stays quiet after its time
  t.deepEqual(order, ['a', 'c']);
});

test('a timer set after the first of its duration was cleared waits its own full delay', async (t) => {
  let early = false;
  const first = systemClock.setTimeout(() => {
    early = true;
  }, 50);
  first.clear();
  await sleep(30);
  const second = timed(50);
  const at = await second.fired;
  t.false(early);
  t.true(at - second.setAt >= 49, `fired after ${at - second.setAt} ms`);
});

test('timers of different durations fire by due time, and one set from a callback is timed from then', async (t) => {
  const order: string[] = [];
  let innerSetAt = 0;
  let innerAt = 0;
  systemClock.setTimeout(() => order.push('200'), 200);
  systemClock.setTimeout(() => {
    order.push('20');
    innerSetAt = performance.now();
    systemClock.setTimeout(() => {
      order.push('20 again');
      innerAt = performance.now();
    }, 20);
  }, 20);
  await settled(order, 3);
  t.deepEqual(order, ['20', '20 again', '200']);
  t.true(innerAt - innerSetAt >= 19);
});

test('delays outside 1 ms … 2^31−1 ms fire after about a millisecond, as Node does', async (t) => {
  const fired: string[] = [];
  systemClock.setTimeout(() => fired.push('zero'), 0);
  systemClock.setTimeout(() => fired.push('negative'), -5);
  systemClock.setTimeout(() => fired.push('not a number'), Number.NaN);
  await settled(fired, 3);
  t.deepEqual(fired.sort(), ['negative', 'not a number', 'zero']);
});

test('a pending timer does not keep the process alive', async (t) => {
  const root = path.resolve(import.meta.dirname, '../../..');
  const script =
    "const { systemClock } = await import('./src/common/clock.ts');" +
    "systemClock.setTimeout(() => console.log('fired'), 10000);";
  const started = Date.now();
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import=tsx', '--input-type=module', '-e', script],
    { cwd: root, timeout: 8000 },
  );
  t.is(stdout, '');
  t.true(Date.now() - started < 8000);
});
