import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { ReloadKeptNotice } from '../../../src/common/log-text.ts';
import { parseProcNetTcp } from '../../../src/identd/proc-net-tcp.ts';
import { testWhen } from '../../helpers/interop-tools.ts';
import { launchRsockd, rawLogLines, waitForFile, waitForLines } from './cli-launch.ts';
import { echoThrough, socks4, startEcho } from './helpers.ts';

// `rsockd --user U[:G]` as root (CI runs as root): bind and read files as root, then sessions,
// relays and shell commands as U. Needs root and the `nobody` user; without them the tests say
// why they cannot run (and fail under SOCKSLAB_REQUIRE_ALL=1).

function nobody(): { uid: number; gid: number } | undefined {
  try {
    const f = execFileSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).split(':');
    return { uid: Number(f[2]), gid: Number(f[3]) };
  } catch {
    return undefined;
  }
}

const nobodyIds = nobody();

/** Tests that need root and the `nobody` user; elsewhere a skip that says which is missing. */
const testAsRoot = testWhen('rsockd --user as root', () =>
  process.getuid?.() !== 0
    ? 'needs root (setuid after bind)'
    : nobodyIds === undefined
      ? 'no `nobody` user'
      : null,
);

/** The ids of `nobody`: only called in tests that testAsRoot let run, where the probe found them. */
function nobodyTarget(): { uid: number; gid: number } {
  if (nobodyIds === undefined) throw new Error('unreachable: testAsRoot checked for the nobody user');
  return nobodyIds;
}

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rsockd-user-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  return dir;
}

const tcpRows = () => [
  ...parseProcNetTcp(readFileSync('/proc/net/tcp', 'utf8')),
  ...parseProcNetTcp(readFileSync('/proc/net/tcp6', 'utf8')),
];

testAsRoot(
  '--user nobody: the relay sockets and the hook belong to nobody; the listener, log and pid file to root',
  async (t) => {
    t.timeout(120_000);
    const target = nobodyTarget();
    const dir = await tempDir(t);
    const hooks = join(dir, 'hooks');
    await mkdir(hooks);
    await chmod(hooks, 0o777);
    await writeFile(join(dir, 'sockd.conf'), `permit 127.0.0.0 255.0.0.0 : id > ${hooks}/id-%u\n`);
    const echo = await startEcho(t);
    const s = await launchRsockd(t, dir, ['--user', 'nobody']);
    const r = await socks4({
      proxy: s,
      dst: echo.host,
      port: echo.port,
      user: 'probe',
      replyTimeoutMs: 30_000,
    });
    t.is(r.reply?.code, 90);
    t.deepEqual(await echoThrough(r.socket, Buffer.from('ping')), Buffer.from('ping'));

    // While the relay is up: who owns its two sockets, and the listener.
    const rows = tcpRows();
    const outbound = rows.find(
      (row) => row.remote.address === echo.host && row.remote.port === echo.port && row.inode !== 0,
    );
    const clientSide = rows.find(
      (row) =>
        row.local.address === s.host &&
        row.local.port === s.port &&
        row.remote.port === r.socket.localPort &&
        row.inode !== 0,
    );
    const listener = rows.find((row) => row.local.port === s.port && row.state === 'LISTEN');
    t.is(outbound?.uid, target.uid, 'the outbound relay socket (what identd reports) is nobody’s');
    t.is(clientSide?.uid, target.uid, 'the accepted client socket is nobody’s');
    t.is(listener?.uid, 0, 'the listener was bound before the drop');
    r.socket.destroy();

    const id = await waitForFile(join(hooks, 'id-probe'));
    t.regex(id, new RegExp(`^uid=${target.uid}\\b.* gid=${target.gid}\\b`));
    t.regex(id, new RegExp(`groups=${target.gid}(\\([^)]*\\))?\\n$`), 'no supplementary group but G');

    const status = readFileSync(`/proc/${s.proc.pid}/status`, 'utf8');
    t.regex(
      status,
      new RegExp(`^Uid:\\t${target.uid}\\t${target.uid}\\t${target.uid}\\t${target.uid}$`, 'm'),
    );
    t.regex(
      status,
      new RegExp(`^Gid:\\t${target.gid}\\t${target.gid}\\t${target.gid}\\t${target.gid}$`, 'm'),
    );
    t.regex(status, new RegExp(`^Groups:\\t${target.gid} ?$`, 'm'));

    // The log was opened as root and is still written after the drop; the pid file is root's.
    const lines = await waitForLines(s.logFile, (ls) => ls.some((l) => l.includes('connected -- ')));
    t.true(lines.some((l) => l.endsWith(`running as nobody (uid ${target.uid}, gid ${target.gid})`)));
    t.false(lines.some((l) => l.includes('without --user')));
    t.is((await stat(s.logFile)).uid, 0);
    t.is((await stat(join(dir, 'pid'))).uid, 0);
  },
);

testAsRoot('--user with --workers 2: every worker serves as nobody', async (t) => {
  t.timeout(180_000);
  const target = nobodyTarget();
  const dir = await tempDir(t);
  await writeFile(join(dir, 'sockd.conf'), 'permit 127.0.0.0 255.0.0.0\n');
  const echo = await startEcho(t);
  const s = await launchRsockd(t, dir, ['--user', 'nobody', '--workers', '2']);
  const pids = new Set<number>();
  const deadline = Date.now() + 60_000;
  for (let i = 0; pids.size < 2 && Date.now() < deadline; i++) {
    const r = await socks4({
      proxy: s,
      dst: echo.host,
      port: echo.port,
      user: `w${i}`,
      replyTimeoutMs: 30_000,
    });
    t.is(r.reply?.code, 90);
    const outbound = tcpRows().find(
      (row) => row.remote.address === echo.host && row.remote.port === echo.port && row.inode !== 0,
    );
    t.is(outbound?.uid, target.uid);
    r.socket.destroy();
    // The log is written in batches: wait for this session's own line, not a fixed time.
    const lines = await waitForLines(s.logFile, (ls) => ls.some((l) => l.includes(`Connect from w${i}(`)));
    for (const l of lines) {
      const m = /rsockd\[(\d+)\]: connected/.exec(l);
      if (m) pids.add(Number(m[1]));
    }
  }
  t.is(pids.size, 2, 'both workers served');
  for (const pid of pids) {
    t.regex(readFileSync(`/proc/${pid}/status`, 'utf8'), new RegExp(`^Uid:\\t${target.uid}\\t`, 'm'));
  }
});

testAsRoot(
  'started as root without --user, rsockd says on stderr and in its log that relays and hooks run as root',
  async (t) => {
    t.timeout(120_000);
    const dir = await tempDir(t);
    await writeFile(join(dir, 'sockd.conf'), 'permit 127.0.0.0 255.0.0.0\n');
    const s = await launchRsockd(t, dir);
    const warning = 'running as root without --user: sessions, relays and shell commands will run as root';
    await waitForLines(s.logFile, (ls) => ls.some((l) => l.includes(warning)));
    const deadline = Date.now() + 10_000;
    while (!s.output().includes(warning) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    t.true(s.output().includes(`rsockd: ${warning}`));
  },
);

test('--user with an unknown user stops rsockd at start-up, naming the user', async (t) => {
  t.timeout(120_000);
  const dir = await tempDir(t);
  await writeFile(join(dir, 'sockd.conf'), 'permit ALL\n');
  const launched = launchRsockd(t, dir, ['--user', 'no-such-user-sockslab']);
  const err = await t.throwsAsync(launched);
  t.regex(err?.message ?? '', /--user: no such user "no-such-user-sockslab"/);
});

testAsRoot(
  'after the drop a SIGHUP cannot read a root-only socks.conf: warned at start-up, its rules kept, not "all direct"',
  async (t) => {
    t.timeout(120_000);
    const dir = await tempDir(t);
    await writeFile(join(dir, 'sockd.conf'), 'permit 127.0.0.0 255.0.0.0\n');
    const socksConf = join(dir, 'socks.conf');
    await writeFile(socksConf, 'deny 0.0.0.0 0.0.0.0\n', { mode: 0o600 });
    const echo = await startEcho(t);
    const s = await launchRsockd(t, dir, ['--user', 'nobody']);
    await waitForLines(s.logFile, (ls) =>
      ls.some((l) =>
        l.includes(`${socksConf} is not readable by nobody: a SIGHUP reload will keep its current rules`),
      ),
    );
    const before = await socks4({
      proxy: s,
      dst: echo.host,
      port: echo.port,
      user: 'u',
      replyTimeoutMs: 30_000,
    });
    t.is(before.reply?.code, 91, 'socks.conf denies');
    before.socket.destroy();
    process.kill(s.proc.pid!, 'SIGHUP');
    await waitForLines(s.logFile, (ls) => ls.some((l) => l.includes(ReloadKeptNotice)));
    const lines = await rawLogLines(s.logFile);
    t.true(lines.some((l) => l.includes(`Unable to open config file (${socksConf}): Permission denied`)));
    const after = await socks4({
      proxy: s,
      dst: echo.host,
      port: echo.port,
      user: 'u',
      replyTimeoutMs: 30_000,
    });
    t.is(
      after.reply?.code,
      91,
      'still denied: the unreadable file did not become "no file, everything direct"',
    );
    after.socket.destroy();
  },
);
