import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `cond` (called once per try, so it may act, e.g. fire a manual timer) until it holds, or
 * rejects naming `what`. For tests that wait on another party: a fixed pause is either too long
 * or, on a loaded CI machine, too short. The default limit is generous (10 s) because it only
 * bounds a failure: a passing test waits as long as its condition takes, not the limit.
 */
export async function eventually(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(5);
  }
}
