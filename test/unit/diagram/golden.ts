/**
 * Golden-file comparison for generated diagram text. `SOCKSLAB_UPDATE_GOLDEN=1` rewrites the
 * files (then review the diff); otherwise a missing or different file fails the test.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ExecutionContext } from 'ava';

export const goldenDir = path.resolve(import.meta.dirname, '../../fixtures/diagram');

export function assertGolden(t: ExecutionContext, name: string, actual: string): void {
  const file = path.join(goldenDir, name);
  if (process.env.SOCKSLAB_UPDATE_GOLDEN === '1') {
    writeFileSync(file, actual);
    t.log(`updated ${name}`);
  }
  let expected: string;
  try {
    expected = readFileSync(file, 'utf8');
  } catch {
    t.fail(`golden file ${name} is missing; run with SOCKSLAB_UPDATE_GOLDEN=1 and review it`);
    return;
  }
  t.is(actual, expected, `${name} differs from the golden file`);
}
