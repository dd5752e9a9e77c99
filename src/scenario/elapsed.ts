import type { LabTimeouts } from '../runtime/runtime.ts';
import type { Failure } from './expect.ts';
import type { CaseExpectations, ElapsedBound, TimerName } from './model.ts';

/**
 * Timing expectations: `elapsed: { after: identd }` says the probe's answer came only once the
 * identd timer had run out (a 92 "after the identd timer", not a quick refusal); `before:
 * upstreamConnect` that it came sooner. Bounds name the lab's own timers — the short scenario
 * timers of `sockslab run`, or the spec's with `--spec-timers` — so a suite reads the same
 * whatever timers the lab runs with. A bound is `[N*]timer[+duration]`, a duration, or ms.
 */

export const TimerNames: readonly TimerName[] = ['identd', 'upstreamConnect', 'establish', 'requestRead'];

/** The spec's own values (b.7), for labs started without shorter timers. */
export const SpecTimers: Readonly<Record<TimerName, number>> = {
  identd: 15_000,
  upstreamConnect: 30_000,
  establish: 120_000,
  requestRead: 120_000,
};

/**
 * How early an `after` bound may be met: timers fire on a busy shared machine a little late,
 * never early, but the probe's clock starts before the request is sent; 5 % or 100 ms.
 */
export function afterTolerance(ms: number): number {
  return Math.max(100, Math.round(ms * 0.05));
}

function durationMs(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000);
}

/** Parses a bound; a string error says what is wrong (the caller locates it). */
export function parseElapsedBound(value: number | string): ElapsedBound | string {
  if (typeof value === 'number') return { text: `${value}ms`, timers: [], fixedMs: value };
  const timers: { timer: TimerName; times: number }[] = [];
  let fixedMs = 0;
  for (const raw of value.split('+')) {
    const term = raw.trim();
    const fixed = durationMs(term);
    if (fixed !== undefined) {
      fixedMs += fixed;
      continue;
    }
    const m = /^(?:(\d+)\s*\*\s*)?([A-Za-z]+)$/.exec(term);
    const timer = m?.[2] as TimerName | undefined;
    if (!m || !timer || !TimerNames.includes(timer))
      return `"${term}" is neither a duration nor [N*]timer; timers: ${TimerNames.join(', ')}`;
    timers.push({ timer, times: m[1] !== undefined ? Number(m[1]) : 1 });
  }
  return { text: value, timers, fixedMs };
}

/** The bound's value under the lab's timers (absent ones are the spec's). */
export function boundMs(bound: ElapsedBound, timers: LabTimeouts | undefined): number {
  return bound.timers.reduce(
    (sum, t) => sum + t.times * (timers?.[t.timer] ?? SpecTimers[t.timer]),
    bound.fixedMs,
  );
}

export function checkElapsed(
  expect: CaseExpectations['elapsed'],
  durationMs: number,
  timers: LabTimeouts | undefined,
): Failure[] {
  if (!expect) return [];
  const out: Failure[] = [];
  if (expect.after) {
    const ms = boundMs(expect.after, timers);
    if (durationMs < ms - afterTolerance(ms))
      out.push({
        what: 'elapsed',
        expected: `at least ${expect.after.text} (${ms} ms)`,
        actual: `${durationMs} ms`,
      });
  }
  if (expect.before) {
    const ms = boundMs(expect.before, timers);
    if (durationMs >= ms)
      out.push({
        what: 'elapsed',
        expected: `less than ${expect.before.text} (${ms} ms)`,
        actual: `${durationMs} ms`,
      });
  }
  return out;
}
