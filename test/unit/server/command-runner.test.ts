import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ShellCommandRunner } from '../../../src/server/command-runner.ts';

// c.10 execution: /bin/sh -c, waited for, at most the shell-command timer, failures reported.

test('a command runs through /bin/sh -c and is waited for, with its exit status', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cmd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'out');
  const r = await new ShellCommandRunner().run(`echo "blocked kim" > ${out}; exit 3`, { timeoutMs: 5000 });
  t.deepEqual(r, { status: 'ran', exitCode: 3 });
  t.is(await readFile(out, 'utf8'), 'blocked kim\n');
});

test('a command outliving the timer is left running and reported as timeout', async (t) => {
  const started = Date.now();
  const r = await new ShellCommandRunner().run('sleep 10', { timeoutMs: 100 });
  t.is(r.status, 'timeout');
  // Back long before the command ends: the bound only has to tell the 100 ms timer from the
  // command's 10 s, with room for a loaded machine to start the shell and fire the timer late.
  const elapsed = Date.now() - started;
  t.true(elapsed < 8000, `back after ${elapsed} ms`);
});

test('a shell that cannot be started is reported as spawn-failed', async (t) => {
  const r = await new ShellCommandRunner('/nonexistent/sh').run('true', { timeoutMs: 1000 });
  t.is(r.status, 'spawn-failed');
});
