import test from 'ava';
import { boundMs, checkElapsed, parseElapsedBound } from '../../../src/scenario/elapsed.ts';
import type { ElapsedBound } from '../../../src/scenario/model.ts';
import { ScenarioTimeouts } from '../../../src/scenario/timeouts.ts';

const bound = (v: string | number) => parseElapsedBound(v) as ElapsedBound;

test('a bound names lab timers, multiples of them and a margin, and is valued with the timers the lab runs', (t) => {
  t.is(boundMs(bound('identd'), ScenarioTimeouts), 1500);
  t.is(boundMs(bound('2*upstreamConnect+500ms'), ScenarioTimeouts), 3500);
  t.is(boundMs(bound('identd'), undefined), 15_000); // the spec's own value
  t.is(boundMs(bound('1.5s'), ScenarioTimeouts), 1500);
  t.is(boundMs(bound(800), ScenarioTimeouts), 800);
  t.regex(
    parseElapsedBound('identd-timer') as string,
    /neither a duration nor \[N\*\]timer; timers: identd, upstreamConnect/,
  );
});

test('"92 after the identd timer": an answer before the timer fails, one after it passes', (t) => {
  const after = { after: bound('identd') };
  t.deepEqual(checkElapsed(after, 1480, ScenarioTimeouts), []); // within the 100 ms tolerance
  const early = checkElapsed(after, 40, ScenarioTimeouts);
  t.deepEqual(early, [{ what: 'elapsed', expected: 'at least identd (1500 ms)', actual: '40 ms' }]);
  const before = { before: bound('upstreamConnect') };
  t.deepEqual(checkElapsed(before, 100, ScenarioTimeouts), []);
  t.is(checkElapsed(before, 1600, ScenarioTimeouts)[0]?.expected, 'less than upstreamConnect (1500 ms)');
});
