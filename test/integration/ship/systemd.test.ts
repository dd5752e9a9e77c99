import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { freshAddress, listenPort, rawSocks4, waitListening } from '../../helpers/interop-net.ts';
import { programsInstalled, testWhen } from '../../helpers/interop-tools.ts';
import { ensureBuilt, root } from '../docker/support.ts';
import { startEcho } from '../server/helpers.ts';
import { directive, execStart, installedRsockd, readUnit, unitDir } from './units.ts';

/**
 * contrib/systemd: the units are valid for systemd (`systemd-analyze verify`), and the
 * socket-activated pair really serves SOCKS: systemd-socket-activate --accept --inetd does what
 * rsockd.socket (Accept=yes) does — accept, then start rsockd@.service's command once per
 * connection with the connection on fd 0 — and a SOCKS 4 CONNECT through it reaches an echo server.
 */

const activateTest = testWhen('systemd socket activation', programsInstalled('systemd-socket-activate'));
const verifyTest = testWhen('systemd unit verification', programsInstalled('systemd-analyze'));
ensureBuilt();

const isRoot = process.getuid?.() === 0;

async function scratch(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sockslab-systemd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

activateTest(
  'rsockd@.service started per connection by inetd-style activation serves SOCKS 4 CONNECTs to an echo server',
  async (t) => {
    t.timeout(120_000);
    const dir = await scratch(t);
    // Readable by the --user the server drops to (a SIGHUP-style re-read as that user would work).
    await chmod(dir, 0o755);
    const echo = await startEcho(t, '127.0.0.1');
    // The rule files the unit would read from /etc, here from the scratch directory.
    await writeFile(
      join(dir, 'sockd.conf'),
      `permit ?=n 127.0.0.0 255.0.0.0 127.0.0.1 255.255.255.255 eq ${echo.port}\ndeny 0.0.0.0 0.0.0.0\n`,
    );
    await writeFile(join(dir, 'socks.conf'), 'direct 0.0.0.0 0.0.0.0\n');
    let argv = execStart(readUnit(root, 'rsockd@.service'), root);
    t.false(argv.includes('--standalone'), 'the per-connection unit must run rsockd in inetd mode');
    // --user rsockd: as root the drop is exercised with an account every Debian system has.
    const user = argv.indexOf('--user');
    t.not(user, -1, 'rsockd@.service drops privileges with --user');
    argv = isRoot
      ? argv.map((a, i) => (i === user + 1 ? 'nobody' : a))
      : argv.filter((_, i) => i !== user && i !== user + 1);
    argv = [
      ...argv,
      '--conf',
      join(dir, 'sockd.conf'),
      '--client-conf',
      join(dir, 'socks.conf'),
      '--log',
      'stderr',
    ];

    // An address of this test's own and a port below the ephemeral range: a port picked free on
    // 127.0.0.1 could be taken by another test before the activator binds it.
    const host = freshAddress();
    const port = listenPort();
    const activator = execa(
      'systemd-socket-activate',
      ['--accept', '--inetd', '-l', `${host}:${port}`, '--', ...argv],
      {
        reject: false,
        stdin: 'ignore',
        all: true,
        buffer: true,
      },
    );
    t.teardown(() => {
      activator.kill('SIGTERM');
    });
    let exited: string | null = null;
    void activator.then((r) => {
      exited = `systemd-socket-activate exited ${r.exitCode}: ${r.all}`;
    });
    await waitListening(host, port, 30_000, () => exited);

    // Two connections: each is served by a process of its own, started on accept.
    for (const payload of ['first session\n', 'second session\n']) {
      const s = await rawSocks4({ host, port }, '127.0.0.1', 1, { host: '127.0.0.1', port: echo.port }, 'x');
      const reply = await s.reply(30_000);
      t.is(reply?.code, 90, `granted (${exited ?? 'activator running'})`);
      s.socket.write(payload);
      t.is((await s.read(Buffer.byteLength(payload), 30_000)).toString(), payload);
      s.close();
    }
    // A request the rules refuse is answered 91 by the same command: the rules were read.
    const refused = await rawSocks4(
      { host, port },
      '127.0.0.1',
      1,
      { host: '127.0.0.1', port: echo.port + 1 === 65536 ? 1 : echo.port + 1 },
      'x',
    );
    t.is((await refused.reply(30_000))?.code, 91);
    refused.close();

    activator.kill('SIGTERM');
    const result = await activator;
    const log = result.all ?? '';
    // Accept=yes: one process per connection, each logging its own session and then exiting.
    const served = [
      ...log.matchAll(
        new RegExp(
          `rsockd\\[(\\d+)\\]: connected -- Connect from x\\(unknown\\)@\\S+ to \\S+ \\(${echo.port}\\)`,
          'g',
        ),
      ),
    ];
    t.is(served.length, 2, log);
    t.not(served[0]?.[1], served[1]?.[1], 'each connection had a process of its own');
    t.regex(log, /rsockd\[\d+\]: refused -- Connect from x\(unknown\)/);
    if (isRoot) t.regex(log, /rsockd\[\d+\]: running as nobody \(uid \d+/, 'the session dropped to --user');
  },
);

verifyTest(
  'systemd-analyze verify accepts the three units without a warning once rsockd is at its installed path',
  async (t) => {
    t.timeout(60_000);
    const dir = await scratch(t);
    const names = (await readdir(unitDir(root))).filter((n) => /\.(service|socket)$/.test(n)).sort();
    t.deepEqual(names, ['rsockd.service', 'rsockd.socket', 'rsockd@.service']);
    // verify checks that ExecStart's program exists: point it at this tree's build (node + script).
    const built = `${process.execPath} ${join(root, 'dist/cli/rsockd.js')}`;
    for (const name of names) {
      await writeFile(join(dir, name), readUnit(root, name).replaceAll(installedRsockd, built));
    }
    const r = await execa('systemd-analyze', ['verify', '--man=no', ...names.map((n) => join(dir, n))], {
      reject: false,
      env: { SYSTEMD_LOG_LEVEL: 'warning' },
    });
    t.is(r.exitCode, 0, r.stderr);
    // Unknown or misspelled directives are only warnings: none is allowed.
    t.is(r.stderr.trim(), '');
  },
);

test('the standalone unit drops to a user, binds with no more than it needs, and is hardened', (t) => {
  const unit = readUnit(root, 'rsockd.service');
  const cmd = execStart(unit, root);
  t.true(cmd.includes('--standalone'));
  t.true(cmd.includes('--user'));
  t.deepEqual(directive(unit, 'NoNewPrivileges'), ['yes']);
  t.deepEqual(directive(unit, 'ProtectSystem'), ['strict']);
  t.deepEqual(directive(unit, 'PrivateTmp'), ['yes']);
  t.deepEqual(directive(unit, 'CapabilityBoundingSet'), ['CAP_SETUID CAP_SETGID CAP_NET_BIND_SERVICE']);
  const socket = readUnit(root, 'rsockd.socket');
  t.deepEqual(directive(socket, 'Accept'), ['yes']);
  t.deepEqual(directive(readUnit(root, 'rsockd@.service'), 'StandardInput'), ['socket']);
});
