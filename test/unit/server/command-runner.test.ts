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
  const r = await new ShellCommandRunner().run('sleep 2', { timeoutMs: 100 });
  t.is(r.status, 'timeout');
  t.true(Date.now() - started < 1500);
});

test('a shell that cannot be started is reported as spawn-failed', async (t) => {
  const r = await new ShellCommandRunner('/nonexistent/sh').run('true', { timeoutMs: 1000 });
  t.is(r.status, 'spawn-failed');
});
