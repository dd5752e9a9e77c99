import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { socks4, startEcho } from './helpers.ts';
import { logLines, root, standalone, tempDir, untilListening, waitForLogLine } from './processes.ts';

// A standalone server's life as a process: reloads whose files are gone, signals that arrive
// while it is still starting, and the pid file on every way out.

test('a sockd.conf that is missing or unreadable at SIGHUP keeps the old rules and is logged once per reload', async (t) => {
  t.timeout(90_000);
  const dir = await tempDir(t);
  const conf = join(dir, 'sockd.conf');
  await writeFile(conf, 'permit ALL\n');
  await writeFile(join(dir, 'socks.conf'), 'direct ALL\n');
  const echo = await startEcho(t);
  const s = await standalone(t, 'rsockd', dir);
  const proxy = { host: s.host, port: s.port };
  const codes = async (n: number) => {
    const out: (number | undefined)[] = [];
    for (let i = 0; i < n; i++) {
      const r = await socks4({ proxy, dst: echo.host, port: echo.port, user: `u${i}` });
      out.push(r.reply?.code);
      r.socket.destroy();
    }
    return out;
  };
  t.deepEqual(await codes(1), [90]);
  const unable = async () =>
    (await logLines(s.logFile)).filter((l) => l.includes('Unable to open config file'));

  await rm(conf);
  process.kill(s.proc.pid!, 'SIGHUP');
  await waitForLogLine(s.logFile, (l) => l.includes('reload: files that could not be used kept'));
  t.deepEqual(await codes(20), Array(20).fill(90), 'the old rules still permit');
  t.deepEqual(await unable(), [
    `Unable to open config file (${conf}): No such file or directory; keeping its previous rules`,
  ]);

  // Unreadable (a directory in its place: unreadable even for root).
  await mkdir(conf);
  process.kill(s.proc.pid!, 'SIGHUP');
  await waitForLogLine(s.logFile, (l) => l.includes('Is a directory'));
  t.deepEqual(await codes(5), Array(5).fill(90));
  t.is((await unable()).length, 2, 'one more line for the second reload, none per request');

  await rm(conf, { recursive: true });
  await writeFile(conf, 'deny ALL\n');
  process.kill(s.proc.pid!, 'SIGHUP');
  let last: number | undefined;
  for (let i = 0; i < 100 && last !== 91; i++) {
    await new Promise((r) => setTimeout(r, 100));
    [last] = await codes(1);
  }
  t.is(last, 91, 'a readable file is taken again');
  process.kill(s.proc.pid!, 'SIGTERM');
  t.is((await s.proc).exitCode, 0);
});

test('SIGHUP and SIGUSR2 while the server is still starting do not end it; the reload runs once it serves', async (t) => {
  t.timeout(90_000);
  const dir = await tempDir(t);
  await writeFile(join(dir, 'sockd.conf'), 'permit ALL\n');
  // The --hosts file is a FIFO: start-up waits in the middle (after the entry point, before
  // listening) until the test writes it, so the signals land at a known moment.
  const fifo = join(dir, 'hosts');
  await execa('mkfifo', [fifo]);
  const echo = await startEcho(t);
  const s = await standalone(t, 'sockd', dir, ['--hosts', fifo], {}, { listening: false });
  const writer = await open(fifo, 'w'); // resolves once the server has opened it to read
  process.kill(s.proc.pid!, 'SIGHUP');
  process.kill(s.proc.pid!, 'SIGUSR2');
  await new Promise((r) => setTimeout(r, 500));
  t.is(s.proc.exitCode, null, 'still running');
  t.false(existsSync(s.pidfile), 'not yet started');
  await writeFile(join(dir, 'sockd.conf'), 'deny ALL\n'); // what the held SIGHUP will load
  await writer.writeFile('');
  await writer.close();
  await untilListening(s);
  let code: number | undefined;
  for (let i = 0; i < 100 && code !== 91; i++) {
    const r = await socks4({
      proxy: { host: s.host, port: s.port },
      dst: echo.host,
      port: echo.port,
      user: 'u',
    });
    code = r.reply?.code;
    r.socket.destroy();
    if (code !== 91) await new Promise((r) => setTimeout(r, 100));
  }
  t.is(code, 91, 'the SIGHUP sent during start-up reloaded the rules');
  process.kill(s.proc.pid!, 'SIGTERM');
  const done = await s.proc;
  t.is(done.exitCode, 0, done.stderr);
  t.false(existsSync(s.pidfile));
});

test('the pid file is removed on every way out: SIGTERM, SIGINT, a crash, and the --workers primary', async (t) => {
  t.timeout(180_000);
  const crash = join(root, 'test/helpers/preload/crash-on-sigwinch.mjs');
  const ways = [
    { name: 'SIGTERM', signal: 'SIGTERM', extra: [], exit: 0 },
    { name: 'SIGINT', signal: 'SIGINT', extra: [], exit: 0 },
    {
      name: 'an uncaught exception',
      signal: 'SIGWINCH',
      extra: [],
      exit: 1,
      nodeArgs: [`--import=${crash}`],
    },
    { name: 'the --workers primary on SIGTERM', signal: 'SIGTERM', extra: ['--workers', '2'], exit: 0 },
  ] as const;
  for (const way of ways) {
    const dir = await tempDir(t);
    await writeFile(join(dir, 'sockd.conf'), 'permit ALL\n');
    const s = await standalone(
      t,
      'sockd',
      dir,
      way.extra,
      'nodeArgs' in way ? { nodeArgs: way.nodeArgs } : {},
    );
    for (let i = 0; i < 600 && !existsSync(s.pidfile); i++) await new Promise((r) => setTimeout(r, 50));
    t.is((await readFile(s.pidfile, 'utf8')).trim(), String(s.proc.pid), `${way.name}: pid file written`);
    process.kill(s.proc.pid!, way.signal);
    const done = await s.proc;
    t.is(done.exitCode, way.exit, `${way.name}: exit status\n${done.stderr}`);
    t.false(existsSync(s.pidfile), `${way.name}: pid file removed`);
  }
});

test('SIGTERM while the server is still starting ends it at once, leaving no pid file', async (t) => {
  t.timeout(60_000);
  const dir = await tempDir(t);
  await writeFile(join(dir, 'sockd.conf'), 'permit ALL\n');
  const fifo = join(dir, 'hosts');
  await execa('mkfifo', [fifo]);
  const s = await standalone(t, 'sockd', dir, ['--hosts', fifo], {}, { listening: false });
  const writer = await open(fifo, 'w');
  process.kill(s.proc.pid!, 'SIGTERM');
  // Node's exit waits for its thread pool, where the read of the FIFO blocks until its writer closes.
  await new Promise((r) => setTimeout(r, 300));
  await writer.close();
  const done = await s.proc;
  t.is(done.exitCode, 143, 'the status of a process ended by SIGTERM');
  t.false(existsSync(s.pidfile));
});
