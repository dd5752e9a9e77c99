import { spawn } from 'node:child_process';
import test from 'ava';
import { processAlive } from '../../../src/common/process-alive.ts';

test('this process is alive', (t) => {
  t.true(processAlive(process.pid));
});

test('a child is alive while it runs and not after it has exited and been reaped', async (t) => {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve) => child.once('spawn', () => resolve()));
  const pid = child.pid as number;
  t.true(processAlive(pid));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
  t.false(processAlive(pid));
});

test('pid 1 is alive whether or not this process may signal it (EPERM counts as alive)', (t) => {
  // pid 1 always exists; only root may signal it, everyone else gets EPERM.
  t.true(processAlive(1));
});
