import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { SyslogLog } from '../../../src/server/log-sinks.ts';
import { testWhen } from '../../helpers/interop-tools.ts';

// h.4 syslog: RFC 3164 datagrams (facility daemon, `ident[pid]:`) on a unix datagram socket.
// Node cannot bind AF_UNIX datagram sockets, so a perl one-liner (core Socket, in Debian's
// essential perl-base) plays syslogd.

const have = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
const testWithSyslogd = testWhen('a stand-in syslogd', () =>
  have('perl') && have('logger') ? null : 'perl and logger(1) are needed to stand in for syslogd',
);

/**
 * A stand-in syslogd on a fresh unix datagram socket: it prints the first `count` datagrams, one a
 * line, control bytes shown as `<hh>` (so a newline inside one cannot pass for two), then exits.
 * `received()` resolves with those lines once it has.
 */
async function standInSyslogd(
  t: ExecutionContext,
  count: number,
): Promise<{ path: string; received(): Promise<string[]> }> {
  const dir = await mkdtemp(join(tmpdir(), 'syslog-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'log');
  const script =
    'use Socket; socket(S, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!"; ' +
    'bind(S, pack_sockaddr_un($ARGV[0])) or die "bind: $!"; $| = 1; print "ready\\n"; ' +
    'for (1..$ARGV[1]) { recv(S, $m, 4096, 0); $m =~ s/([\\x00-\\x1f])/sprintf("<%02x>", ord($1))/ge; print "$m\\n"; }';
  const syslogd = spawn('perl', ['-e', script, path, String(count)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => syslogd.kill());
  let out = '';
  syslogd.stdout.setEncoding('utf8');
  syslogd.stdout.on('data', (d: string) => {
    out += d;
  });
  // 'close', not 'exit': exit can come before the last of its output has been read.
  const closed = new Promise<void>((r) => syslogd.on('close', () => r()));
  while (!out.includes('ready') || !existsSync(path)) await new Promise((r) => setTimeout(r, 20));
  return {
    path,
    received: async () => {
      await closed;
      return out.trim().split('\n').slice(1);
    },
  };
}

testWithSyslogd(
  'classic lines reach a unix datagram syslog socket with daemon priorities and the pid',
  async (t) => {
    const { path, received } = await standInSyslogd(t, 2);
    const log = SyslogLog.open('rsockd', 4321, path);
    t.truthy(log);
    log!.write('notice', 'connected -- Connect from x(unknown)@B to z (http)');
    log!.write('err', 'Unable to open config file (/etc/sockd.conf)');
    log!.close();
    const lines = await received();
    t.is(lines.length, 2);
    t.regex(
      lines[0]!,
      /^<29>\w{3} [ \d]\d \d\d:\d\d:\d\d rsockd\[4321\]: connected -- Connect from x\(unknown\)@B to z \(http\)$/,
    );
    t.regex(lines[1]!, /^<27>.* rsockd\[4321\]: Unable to open config file \(\/etc\/sockd\.conf\)$/);
  },
);

test('without a syslog socket the sink is not available (the CLI then falls back to stderr)', (t) => {
  t.is(SyslogLog.open('sockd', 1, '/nonexistent/dev/log'), null);
});

testWithSyslogd(
  'a message with a newline, CR, ESC and NUL is one syslog datagram with those escaped',
  async (t) => {
    // Two datagrams expected: the hostile line and a marker after it (a forged second line would
    // arrive as its own datagram before the marker).
    const { path, received } = await standInSyslogd(t, 2);
    const log = SyslogLog.open('rsockd', 4321, path);
    t.truthy(log);
    log!.write('notice', 'refused -- Connect from x\n<29>forged\r\x1b[2J\x00(unknown)@h');
    log!.write('notice', 'marker');
    log!.close();
    const lines = await received();
    t.is(lines.length, 2);
    t.regex(
      lines[0]!,
      /rsockd\[4321\]: refused -- Connect from x\\n<29>forged\\r\\x1b\[2J\\x00\(unknown\)@h$/,
    );
    t.regex(lines[1]!, /rsockd\[4321\]: marker$/);
  },
);
