import { closeSync, existsSync, openSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { launchRsockd, waitForFile } from './cli-launch.ts';
import { freshAddress, socks4 } from './helpers.ts';

// Shell commands (c.10) of the real rsockd: what descriptors they get, and what a client-chosen
// value can make of the administrator's template.

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rsockd-hooks-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  return dir;
}

test('a shell command gets descriptors 0, 1 and 2 only, though rsockd inherited fd 200', async (t) => {
  t.timeout(120_000);
  const dir = await tempDir(t);
  const listing = join(dir, 'fds');
  await writeFile(join(dir, 'sockd.conf'), `permit 127.0.0.0 255.0.0.0 : ls /proc/self/fd > ${listing}\n`);
  const held = openSync(join(dir, 'held-open'), 'w');
  t.teardown(() => closeSync(held));
  const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'pipe', 'pipe'];
  while (stdio.length < 200) stdio.push('ignore');
  stdio.push(held); // the child's fd 200, without close-on-exec, as a parent script would leave it
  const s = await launchRsockd(t, dir, [], { stdio });
  const r = await socks4({ proxy: s, dst: freshAddress(), port: 9, user: 'u', replyTimeoutMs: 30_000 });
  r.socket.destroy();
  const fds = (await waitForFile(listing)).trim().split('\n').map(Number);
  // 0-2, plus the directory `ls` itself opens to list /proc/self/fd (the lowest free number).
  t.deepEqual(fds, [0, 1, 2, 3]);
});

test('a USERID cannot steer a hook: no `..` path segment, no option', async (t) => {
  t.timeout(120_000);
  const dir = await tempDir(t);
  const byUser = join(dir, 'by-user');
  await mkdir(byUser);
  await writeFile(
    join(dir, 'sockd.conf'),
    [
      `permit 127.0.0.0 255.0.0.0 eq 7001 : touch ${byUser}/%u`,
      `permit 127.0.0.0 255.0.0.0 eq 7002 : sort %u /dev/null`,
      '',
    ].join('\n'),
  );
  const s = await launchRsockd(t, dir);
  const ask = async (port: number, user: string) => {
    const r = await socks4({ proxy: s, dst: freshAddress(), port, user, replyTimeoutMs: 30_000 });
    r.socket.destroy();
  };
  // `..` segments: the file would land in dir/ (outside by-user/) without the rule.
  await ask(7001, '../escaped');
  // An option: `sort --output=FILE /dev/null` creates FILE.
  await ask(7002, `--output=${dir}/pwned`);
  // A value that is itself `..` lands inside by-user/ as `_.`: proof the hooks ran.
  await ask(7001, '..');
  // c.10: the server waits for a command before it replies, so each has finished by now.
  t.true(existsSync(join(byUser, '_.')), 'the `..` USERID was written as `_.` inside by-user/');
  t.false(existsSync(join(dir, 'escaped')), 'no file outside by-user/');
  t.false(existsSync(join(dir, 'pwned')), 'sort never saw --output');
  t.deepEqual(await readdir(byUser), ['_.']);
});
