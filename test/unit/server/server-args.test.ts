import test from 'ava';
import { parseServerArgs, UsageError, versionText } from '../../../src/cli/server-cli.ts';

// h.1 / h.2 command line, parsed as a pure function of argv and the environment.

test('all arguments are processed and the last of -i / -I wins', (t) => {
  t.is(parseServerArgs('sockd', ['-i', '-I'], {}).identdDefault, 'strict');
  t.is(parseServerArgs('sockd', ['-I', '--standalone', '-i'], {}).identdDefault, 'lenient');
  t.is(parseServerArgs('sockd', [], {}).identdDefault, 'off');
});

test('an unknown single-dash argument is warned about and ignored', (t) => {
  const a = parseServerArgs('rsockd', ['-x', '-i', '-verbose'], {});
  t.deepEqual(a.warnings, ['unknown option -x ignored', 'unknown option -verbose ignored']);
  t.is(a.identdDefault, 'lenient');
});

test('an unknown long option or a missing value is a usage error', (t) => {
  t.throws(() => parseServerArgs('sockd', ['--bogus'], {}), { instanceOf: UsageError });
  t.throws(() => parseServerArgs('sockd', ['--port'], {}), { instanceOf: UsageError });
  t.throws(() => parseServerArgs('sockd', ['--port', '70000'], {}), { instanceOf: UsageError });
  t.throws(() => parseServerArgs('sockd', ['--timeout-idle', 'soon'], {}), { instanceOf: UsageError });
});

test('file paths come from options, else the environment, else /etc', (t) => {
  const a = parseServerArgs('rsockd', ['--conf', '/x/sockd.conf', '--client-fc=/x/socks.fc'], {
    SOCKD_CONF: '/env/sockd.conf',
    SOCKD_FC: '/env/sockd.fc',
    SOCKS_CONF: '/env/socks.conf',
  });
  t.deepEqual(a.paths, {
    conf: '/x/sockd.conf',
    fc: '/env/sockd.fc',
    clientConf: '/env/socks.conf',
    clientFc: '/x/socks.fc',
    route: '/etc/sockd.route',
    fr: '/etc/sockd.fr',
  });
});

test('SOCKS_SERVER wins over --default-server (d.6)', (t) => {
  t.is(parseServerArgs('rsockd', ['--default-server', 'a'], { SOCKS_SERVER: 'b' }).defaultServer, 'b');
  t.is(parseServerArgs('rsockd', ['--default-server', 'a'], {}).defaultServer, 'a');
});

test('timers are given in seconds, fractions allowed, and become milliseconds', (t) => {
  const a = parseServerArgs(
    'sockd',
    ['--timeout-request', '0.5', '--timeout-identd=2', '--timeout-idle', '7200', '--timeout-command', '1.25'],
    {},
  );
  t.deepEqual(a.timers, { requestRead: 500, identd: 2000, relayIdle: 7_200_000, shellCommand: 1250 });
});

test('standalone options, SOCKS 5 options and ports are read', (t) => {
  const a = parseServerArgs(
    'sockd',
    [
      '--standalone',
      '--listen',
      '127.0.0.9',
      '--port',
      '1081',
      '--identd-port',
      '11300',
      '--upstream-port',
      '1090',
      '--socks5',
      '--socks5-auth',
      'required',
      '--passwd',
      '/p',
      '--workers',
      '3',
      '--log',
      'stderr',
      '--log-format',
      'json',
      '--single-homed',
    ],
    {},
  );
  t.like(a, {
    standalone: true,
    listen: '127.0.0.9',
    port: 1081,
    identdPort: 11300,
    upstreamPort: 1090,
    socks5: true,
    socks5Auth: 'required',
    passwd: '/p',
    passwdGiven: true,
    workers: 3,
    log: 'stderr',
    logFormat: 'json',
    multihomed: false,
  });
});

test('-ver text: TAB-led lines, SOCKSified for rsockd, multi-homed and SOCKS 5 lines when in effect', (t) => {
  t.is(
    versionText('sockd', false, false),
    '\tCSTC single-homed SOCKS proxy server version 4.3.\n\tDoes not support clients that use Rrcmd().\n\tSupports SOCKS 4A.\n',
  );
  t.is(
    versionText('rsockd', true, true),
    '\tCSTC multi-homed SOCKSified SOCKS proxy server version 4.3.\n\tDoes not support clients that use Rrcmd().\n\tSupports SOCKS 4A.\n\tSupports SOCKS 5 (RFC 1928, RFC 1929).\n',
  );
});

test('--max-sessions bounds concurrent sessions: 4096 unless given, a positive number', (t) => {
  t.is(parseServerArgs('sockd', [], {}).maxSessions, 4096);
  t.is(parseServerArgs('sockd', ['--max-sessions', '12'], {}).maxSessions, 12);
  t.throws(() => parseServerArgs('sockd', ['--max-sessions', '0'], {}), { instanceOf: UsageError });
  t.throws(() => parseServerArgs('sockd', ['--max-sessions=lots'], {}), { instanceOf: UsageError });
});

test('--user takes USER or USER:GROUP; none means no identity change; a malformed one is a usage error', (t) => {
  t.is(parseServerArgs('rsockd', [], {}).user, undefined);
  t.deepEqual(parseServerArgs('rsockd', ['--user', 'proxy'], {}).user, { user: 'proxy' });
  t.deepEqual(parseServerArgs('sockd', ['--user=65534:65534'], {}).user, { user: '65534', group: '65534' });
  t.throws(() => parseServerArgs('rsockd', ['--user', 'a:b:c'], {}), {
    instanceOf: UsageError,
    message: /--user: expected USER or USER:GROUP/,
  });
});

test('fairness and stuck-session options: counts are positive numbers, durations seconds, absent ones left to the server', (t) => {
  t.deepEqual(parseServerArgs('sockd', [], {}).limits, {});
  t.deepEqual(
    parseServerArgs(
      'sockd',
      [
        '--max-sessions-per-source',
        '64',
        '--max-handshakes=32',
        '--max-handshakes-per-source',
        '8',
        '--stuck-check',
        '0.5',
        '--keepalive',
        '0',
      ],
      {},
    ).limits,
    {
      maxSessionsPerSource: 64,
      maxHandshakes: 32,
      maxHandshakesPerSource: 8,
      stuckCheckMs: 500,
      keepAliveMs: 0,
    },
  );
  t.throws(() => parseServerArgs('sockd', ['--max-sessions-per-source', '0'], {}), {
    instanceOf: UsageError,
    message: /--max-sessions-per-source: expected a positive number/,
  });
  t.throws(() => parseServerArgs('sockd', ['--stuck-check', 'soon'], {}), {
    instanceOf: UsageError,
    message: /--stuck-check: expected seconds/,
  });
});
