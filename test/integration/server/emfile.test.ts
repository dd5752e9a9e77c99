import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { eventually } from '../../helpers/eventually.ts';
import { testWhen } from '../../helpers/interop-tools.ts';
import { connectTcp, echoThrough, freshAddress, randomPort, socks4, startEcho } from './helpers.ts';

// Out of descriptors: a real sockd whose RLIMIT_NOFILE is lowered (prlimit) once it listens.
// Accept fails with EMFILE; the server backs off, says so in one line, and serves again once
// descriptors are free.

const root = new URL('../../../', import.meta.url).pathname;

function prlimitMissing(): string | null {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    return process.platform === 'linux'
      ? null
      : 'RLIMIT_NOFILE of a running process is lowered with Linux prlimit';
  } catch {
    return 'prlimit (util-linux) is needed to lower RLIMIT_NOFILE';
  }
}
const test = testWhen('EMFILE back-off', prlimitMissing);

async function logLines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/^\S+ (r?sockd)\[\d+\]: /, ''));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Open `n` connections and keep them; those the server could not accept are closed by it. */
async function hold(t: ExecutionContext, host: string, port: number, n: number): Promise<Socket[]> {
  const held: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const c = await connectTcp(host, port).catch(() => null);
    if (c === null) continue;
    c.on('error', () => {});
    held.push(c);
    t.teardown(() => c.destroy());
  }
  return held;
}

for (const netKind of ['uv', 'node'] as const) {
  test(`accept failing with EMFILE is logged once, new connections back off, and service resumes (${netKind === 'uv' ? 'libuv handles' : 'node:net'})`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'rsockd-emfile-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'sockd.conf'), 'permit ALL\n');
    const host = freshAddress();
    const port = randomPort();
    const logFile = join(dir, 'log');
    const proc = execa(
      process.execPath,
      [
        '--import=tsx',
        join(root, 'src/cli/sockd.ts'),
        '--standalone',
        '--listen',
        host,
        '--port',
        String(port),
        '--conf',
        join(dir, 'sockd.conf'),
        '--fc',
        join(dir, 'sockd.fc'),
        '--pidfile',
        join(dir, 'pid'),
        '--log',
        logFile,
        '--hosts',
        '/dev/null',
        '--max-handshakes-per-source',
        '1000',
        '--max-sessions-per-source',
        '1000',
        // The check that also probes descriptors, often enough for a short test.
        '--stuck-check',
        '0.2',
      ],
      {
        cwd: root,
        reject: false,
        env: { SOCKS_SERVER: '', SOCKD_CONF: '', SOCKD_FC: '', RSOCKD_NET: netKind },
      },
    );
    const pid = proc.pid;
    if (pid === undefined) return t.fail('sockd did not start');
    t.teardown(() => {
      if (proc.exitCode === null) process.kill(pid, 'SIGKILL');
    });
    const started = Date.now();
    for (;;) {
      const c = await connectTcp(host, port).catch(() => null);
      if (c !== null) {
        c.destroy();
        break;
      }
      if (Date.now() - started > 90_000) return t.fail(`sockd did not listen: ${(await proc).stderr}`);
      await sleep(100);
    }
    // Counted once start-up is over (the pid file comes last) and the count holds still (the
    // probe connection above is closed on the server's side too): a fixed pause was either
    // wasted or, on a loaded machine, too short.
    await eventually(() => existsSync(join(dir, 'pid')), 'the pid file', 30_000);
    const fds = () => readdirSync(`/proc/${pid}/fd`).length;
    let last = -1;
    let steady = 0;
    await eventually(
      () => {
        const now = fds();
        steady = now === last ? steady + 1 : 0;
        last = now;
        return steady >= 40; // 0.2 s unchanged
      },
      'a steady descriptor count',
      30_000,
    );
    // Room for a few more descriptors than it holds now, no more.
    const open = fds();
    execFileSync('prlimit', ['--pid', String(pid), `--nofile=${open + 6}:${open + 6}`]);

    const echo = await startEcho(t);
    let held = await hold(t, host, port, 40);
    const accept = (l: string) => l.startsWith('accept() failing: ');
    for (let i = 0; i < 300 && !(await logLines(logFile)).some(accept); i++) await sleep(50);
    // Another burst in the same minute: counted, not logged again.
    held = held.concat(await hold(t, host, port, 40));
    await sleep(500);
    const lines = (await logLines(logFile)).filter(accept);
    t.is(lines.length, 1, (await logLines(logFile)).join('\n'));
    t.regex(
      lines[0] ?? '',
      /^accept\(\) failing: Too many open files \(EMFILE\), seen 1 time; new connections are closed unanswered while it lasts \(back-off up to 2 s\)$/,
    );

    for (const c of held) c.destroy();
    // Once descriptors are free again (and the back-off is over) a client is served.
    let served = false;
    for (let i = 0; i < 40 && !served; i++) {
      await sleep(250);
      const r = await socks4({ proxy: { host, port }, dst: echo.host, port: echo.port }).catch(() => null);
      if (r?.reply?.code === 90) {
        served = (await echoThrough(r.socket, Buffer.from('again'))).toString() === 'again';
      }
      r?.socket.destroy();
    }
    t.true(served, 'served again');
  });
}
