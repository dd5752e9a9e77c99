import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import test, { type ExecutionContext, type TestFn } from 'ava';
import { dockerEngine, dockerRuntime, LabLabel } from '../../../src/runtime/docker/index.ts';

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

export { echoTopology } from './topologies.ts';

export const requireAll = process.env.SOCKSLAB_REQUIRE_ALL === '1';

/** A stand-in for `test` whose tests are skipped and whose hooks do nothing (ava has no `test.skip.after`). */
function skippedTests(): TestFn {
  const skip = ((title: string, ...rest: unknown[]) =>
    (test.skip as (t: string, ...r: unknown[]) => void)(title, ...rest)) as unknown as Record<
    string,
    unknown
  >;
  const hook = Object.assign(() => {}, {
    always: Object.assign(() => {}, { skip: () => {} }),
    skip: () => {},
  });
  Object.assign(skip, { serial: skip, skip, only: skip, failing: skip });
  Object.assign(skip, { before: hook, after: hook, beforeEach: hook, afterEach: hook });
  return skip as unknown as TestFn;
}

/**
 * `test` when Docker answers; otherwise tests that are skipped with the reason printed, or (CI,
 * SOCKSLAB_REQUIRE_ALL=1) one failing test carrying the reason. SOCKSLAB_SKIP_DOCKER=1 skips on
 * purpose (and still fails under SOCKSLAB_REQUIRE_ALL).
 */
export async function dockerTest(): Promise<TestFn> {
  const probe =
    process.env.SOCKSLAB_SKIP_DOCKER === '1'
      ? ({ ok: false, reason: 'SOCKSLAB_SKIP_DOCKER=1' } as const)
      : await dockerRuntime.probe();
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
  return skippedTests();
}

/**
 * Nothing this test process created is left: no container and no network carrying its
 * `sockslab.owner-pid` label (every lab object has one), whichever test created it.
 */
export async function assertNothingLeft(t: ExecutionContext<unknown>): Promise<void> {
  const d = (await dockerEngine()).dockerode;
  const filters = { label: [`${LabLabel.lab}=true`, `${LabLabel.ownerPid}=${process.pid}`] };
  const [containers, networks] = await Promise.all([
    d.listContainers({ all: true, filters }),
    d.listNetworks({ filters }),
  ]);
  t.deepEqual(
    [...containers.map((c) => `container ${c.Names.join(',')}`), ...networks.map((n) => `network ${n.Name}`)],
    [],
    'Docker objects of this test process were left behind',
  );
}

/**
 * The seed cascade's text with its subnets moved to 10.<block>.{1,2,100}.0/24 (the configs'
 * addresses move with them). Docker's address pools are global to the engine, so a test file that
 * brings the seed cascade up while the conformance test may be running it too takes a block of
 * its own instead of failing with "Pool overlaps".
 */
export function relocatedSeed(text: string, block: number): string {
  const moved = text
    .replaceAll('10.1.0.', `10.${block}.1.`)
    .replaceAll('10.2.0.', `10.${block}.2.`)
    .replaceAll('198.51.100.', `10.${block}.100.`);
  if (moved === text) throw new Error('the seed cascade no longer has the subnets relocatedSeed moves');
  return moved;
}
