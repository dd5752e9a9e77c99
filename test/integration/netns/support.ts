import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import test, { type TestFn } from 'ava';
import { execa } from 'execa';
import { netnsRuntime } from '../../../src/runtime/netns/index.ts';
import type { LabTimeouts } from '../../../src/runtime/runtime.ts';

/**
 * Shared set-up of the netns integration tests: a built dist/ (the hosts run the real CLI), the
 * runtime's own probe (skip with its reason, or fail when SOCKSLAB_REQUIRE_ALL=1), and helpers
 * that look at the kernel's state with `ip` from the test side.
 */

export const root = resolve(import.meta.dirname, '../../..');
export const requireAll = process.env.SOCKSLAB_REQUIRE_ALL === '1';

/** Short timers: every failure path of these tests ends in seconds. */
export const shortTimeouts: LabTimeouts = {
  identd: 2000,
  upstreamConnect: 2000,
  establish: 4000,
  requestRead: 4000,
  identdRead: 1000,
};

/** `npm test` builds dist/ before ava; a bare `npx ava` of these files builds it once, under a lock. */
function ensureBuilt(): void {
  const agent = join(root, 'dist/cli/host-agent.js');
  if (existsSync(agent)) return;
  const lock = join(root, 'dist.build.lock');
  for (let i = 0; i < 600 && !existsSync(agent); i++) {
    try {
      closeSync(openSync(lock, 'wx'));
    } catch {
      execFileSync('sleep', ['0.2']);
      continue;
    }
    try {
      execFileSync('npx', ['tsc', '-p', 'src/tsconfig.json'], { cwd: root, stdio: 'ignore' });
    } catch {
      // type errors elsewhere still emit JavaScript; the runtime probe decides
    } finally {
      rmSync(lock, { force: true });
    }
  }
}

/** `test` when netns labs can run here; otherwise a skip that prints why (a failure in CI). */
export async function netnsTest(): Promise<TestFn> {
  if (typeof process.getuid === 'function' && process.getuid() === 0) ensureBuilt();
  const probe = await netnsRuntime.probe();
  if (probe.ok) return test;
  if (requireAll) {
    test('the netns runtime is available (SOCKSLAB_REQUIRE_ALL=1)', (t) => {
      t.fail(`netns runtime unavailable: ${probe.reason}`);
    });
  } else {
    console.log(`skipping netns tests: ${probe.reason}`);
  }
  return test.skip as unknown as TestFn;
}

/** Namespaces on the machine whose name starts with `prefix`. */
export async function namespacesWith(prefix: string): Promise<string[]> {
  const { stdout } = await execa('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

/** PIDs of the processes in a namespace. */
export async function pidsIn(namespace: string): Promise<number[]> {
  const { stdout } = await execa('ip', ['netns', 'pids', namespace]);
  return stdout
    .split('\n')
    .map(Number)
    .filter((n) => n > 0);
}

/** The effective uid of a process, from /proc/<pid>/status. */
export async function uidOf(pid: number): Promise<number | null> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /^Uid:\s+\d+\s+(\d+)/m.exec(status);
  return m?.[1] ? Number(m[1]) : null;
}

/** The command line of a process, arguments joined by spaces. */
export async function cmdlineOf(pid: number): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ');
}

/** Live processes started for a run: the host agents carry the run id in their environment. */
export async function processesOfRun(runId: string): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const needle = `"runId":"${runId}"`;
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const env = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    if (env.includes(needle)) out.push(Number(entry));
  }
  return out;
}
