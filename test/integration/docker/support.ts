import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import test, { type TestFn } from 'ava';
import { dockerRuntime } from '../../../src/runtime/docker/index.ts';

/**
 * Shared set-up of the Docker integration tests: the engine probe (skip with the reason, or fail
 * when SOCKSLAB_REQUIRE_ALL=1), a built dist/ (the image is made from it), and small topologies.
 */

export const root = resolve(import.meta.dirname, '../../..');

/** `npm test` builds dist/ before ava; a bare `npx ava` of these files builds it once, under a lock. */
export function ensureBuilt(): void {
  if (existsSync(join(root, 'dist/cli/host-agent.js'))) return;
  mkdirSync(join(root, '.docker-img'), { recursive: true });
  const lock = join(root, '.docker-img/build.lock');
  for (let i = 0; i < 600; i++) {
    try {
      closeSync(openSync(lock, 'wx'));
      try {
        if (!existsSync(join(root, 'dist/cli/host-agent.js'))) {
          try {
            execFileSync('npx', ['tsc', '-p', 'src/tsconfig.json'], { cwd: root, stdio: 'ignore' });
          } catch {
            // type errors elsewhere still emit JavaScript; the check below decides
          }
        }
      } finally {
        rmSync(lock, { force: true });
      }
      return;
    } catch {
      execFileSync('sleep', ['0.2']);
    }
  }
}

export const requireAll = process.env.SOCKSLAB_REQUIRE_ALL === '1';

/** `test` when Docker answers; otherwise a skip that prints why (or a failing test in CI). */
export async function dockerTest(): Promise<TestFn> {
  const probe = await dockerRuntime.probe();
  if (probe.ok) {
    ensureBuilt();
    return test;
  }
  if (requireAll) {
    test('the Docker engine is available (SOCKSLAB_REQUIRE_ALL=1)', (t) => {
      t.fail(`docker runtime unavailable: ${probe.reason}`);
    });
  } else {
    console.log(`skipping Docker tests: ${probe.reason}`);
  }
  return test.skip as unknown as TestFn;
}

export { echoTopology } from './topologies.ts';
