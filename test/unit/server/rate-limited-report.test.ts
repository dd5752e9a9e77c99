import test from 'ava';
import type { Clock } from '../../../src/common/clock.ts';
import { RateLimitedReport } from '../../../src/server/rate-limited-report.ts';

// One line per interval for something that may happen thousands of times a second: the first at
// once, the rest counted and written together when the interval is over; nothing is dropped.

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

test('the first occurrence is written at once, a burst after it as one line with its count and latest detail', (t) => {
  const clock = manualClock();
  const lines: string[] = [];
  const r = new RateLimitedReport(clock, 1000, (n, d) => lines.push(`${n} ${d}`));
  r.note('a');
  t.deepEqual(lines, ['1 a']);
  clock.advance(100);
  r.note('b');
  r.note('c');
  clock.advance(800);
  t.deepEqual(lines, ['1 a'], 'nothing more within the interval');
  clock.advance(100);
  t.deepEqual(lines, ['1 a', '2 c']);
  clock.advance(5000);
  t.is(lines.length, 2, 'no line without an occurrence');
  r.note('d');
  t.deepEqual(lines, ['1 a', '2 c', '1 d']);
});

test('flush writes what is pending at once and only once', (t) => {
  const clock = manualClock();
  const lines: string[] = [];
  const r = new RateLimitedReport(clock, 60_000, (n) => lines.push(String(n)));
  r.note();
  r.note();
  r.note();
  r.flush();
  r.flush();
  clock.advance(60_000);
  t.deepEqual(lines, ['1', '2']);
});
