import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { socks4, startEcho } from './helpers.ts';
import { type Launch, logLines, root, standalone, tempDir } from './processes.ts';

// rsockd runs on bare libuv handles where Node offers them and on node:net where it does not (or
// where touching them would end the process), and says so once.

const cases: readonly [string, Launch][] = [
  [
    'under --pending-deprecation --throw-deprecation',
    { nodeArgs: ['--pending-deprecation', '--throw-deprecation'], env: { RSOCKD_NET: '' } },
  ],
  [
    'without the libuv handle bindings',
    {
      nodeArgs: [`--import=${join(root, 'test/helpers/preload/without-uv-bindings.mjs')}`],
      env: { RSOCKD_NET: '' },
    },
  ],
];

for (const [when, launch] of cases) {
  test(`${when} rsockd starts, serves on node:net and says so once`, async (t) => {
    t.timeout(90_000);
    const dir = await tempDir(t);
    await writeFile(join(dir, 'sockd.conf'), 'permit ALL\n');
    await writeFile(join(dir, 'socks.conf'), 'direct ALL\n');
    const echo = await startEcho(t);
    const s = await standalone(t, 'rsockd', dir, [], launch);
    for (let i = 0; i < 3; i++) {
      const r = await socks4({
        proxy: { host: s.host, port: s.port },
        dst: echo.host,
        port: echo.port,
        user: 'u',
      });
      t.is(r.reply?.code, 90);
      r.socket.destroy();
    }
    process.kill(s.proc.pid!, 'SIGTERM');
    const done = await s.proc;
    t.is(done.exitCode, 0, done.stderr);
    t.notRegex(done.stderr, /DeprecationWarning/);
    const said = (await logLines(s.logFile)).filter((l) => l.startsWith('serving on node:net'));
    t.is(said.length, 1, said.join('\n'));
    t.regex(done.stderr, /rsockd: serving on node:net: bare libuv handles are not usable \(.+\)/);
  });
}

test('with the bindings present rsockd says nothing about node:net', async (t) => {
  t.timeout(60_000);
  const dir = await tempDir(t);
  await writeFile(join(dir, 'sockd.conf'), 'permit ALL\n');
  // Whatever pass of .ci/run this is (RSOCKD_NET=node, or the bindings removed through NODE_OPTIONS).
  const s = await standalone(t, 'rsockd', dir, [], { env: { RSOCKD_NET: '', NODE_OPTIONS: '' } });
  process.kill(s.proc.pid!, 'SIGTERM');
  const done = await s.proc;
  t.is(done.exitCode, 0);
  t.false((await logLines(s.logFile)).some((l) => l.includes('node:net')));
});
