import test from 'ava';
import { oneAtATime } from '../../../src/common/one-at-a-time.ts';

test('steps given to one line run one after another, in order, never two at once', async (t) => {
  const inTurn = oneAtATime();
  const log: string[] = [];
  let running = 0;
  const step = (name: string, ms: number) =>
    inTurn(async () => {
      running++;
      t.is(running, 1, `${name} started while another step ran`);
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${name}`);
      running--;
      return name;
    });
  // The first step is the slowest: were the steps not in line, the others would end first.
  t.deepEqual(await Promise.all([step('a', 30), step('b', 1), step('c', 10)]), ['a', 'b', 'c']);
  t.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
});

test('a failed step fails only its own caller; the next step still runs', async (t) => {
  const inTurn = oneAtATime();
  const failed = inTurn(async () => {
    throw new Error('first');
  });
  const next = inTurn(async () => 'second');
  await t.throwsAsync(failed, { message: 'first' });
  t.is(await next, 'second');
});
