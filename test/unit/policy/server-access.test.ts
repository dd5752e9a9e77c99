import test from 'ava';
import { errorCode } from '../../../src/common/errors.ts';
import { tableResolver } from '../../../src/common/table-resolver.ts';
import type { IdentdMode } from '../../../src/config/ast.ts';
import { builtinServices } from '../../../src/config/services.ts';
import { parseSockdConf } from '../../../src/config/sockd-conf.ts';
import type { UserFileReader } from '../../../src/config/user-file.ts';
import { expandCommand } from '../../../src/policy/command.ts';
import { type HostIdentity, hostFromAddress } from '../../../src/policy/host.ts';
import {
  describeRequest,
  describeRoutedCall,
  routeDenyLogs,
  routeDirectLog,
  routeViaLog,
  upstreamFailedLog,
} from '../../../src/policy/request-desc.ts';
import {
  type AccessDecision,
  applyIdentd,
  decideServerAccess,
  serverCommandContext,
} from '../../../src/policy/server-access.ts';

const noDns = tableResolver({ reverse: new Map(), forward: new Map() });
const at = (ip: string) => hostFromAddress(noDns, ip);

const conf = parseSockdConf(
  [
    '#NO_IDENTD: logger "no identd for %u(%U) on %A"', // 1
    '#BAD_ID: logger "%U claims %u"', // 2
    '#NO_IDENTD: ignored, only the first counts', // 3
    'deny *=kim,lee 172.18.4.0 255.255.255.0 : logger "blocked %u"', // 4
    'permit ?=I *=pat 172.18.4.9 255.255.255.255 : logger "pat in"', // 5
    'permit ?=i *=/users/missing,sam 172.18.5.0 255.255.255.0', // 6
    'permit ?=n 172.18.5.0 255.255.255.0 : logger "fallback %u"', // 7
    'permit 172.18.6.0 255.255.255.0 : logger "six %u/%U"', // 8
  ].join('\n'),
  { file: 'sockd.conf' },
);

const files: UserFileReader = (path) =>
  path === '/users/missing' ? { ok: false, error: 'No such file or directory' } : { ok: true, names: [] };

async function decide(src: string, user: string, identdDefault: IdentdMode = 'off', port = 23) {
  const request = {
    src: await at(src),
    dst: await at('203.0.113.7'),
    user,
    port,
    command: 'connect' as const,
  };
  return decideServerAccess(conf, request, {
    identdDefault,
    userFiles: files,
    serviceNameOf: (p) => builtinServices.nameOf(p),
  });
}

const stepsOf = (o: ReturnType<typeof applyIdentd>) =>
  o.steps.map((s) => (s.kind === 'run' ? `run ${s.command.origin}@${s.command.rule.line}` : `log ${s.text}`));

test('no matching line is an implicit deny: 91, no rule, no command, one refused line', async (t) => {
  const d = await decide('192.0.2.5', 'ann');
  t.is(d.rule, null);
  t.is(d.action, 'deny');
  const o = applyIdentd(d, { kind: 'not-asked' });
  t.is(o.reply, 91);
  t.deepEqual(stepsOf(o), ['log refused -- Connect from ann(unknown)@192.0.2.5 to 203.0.113.7 (telnet)']);
});

test('a deny line runs its own command, then logs refused, and never asks identd', async (t) => {
  const d = await decide('172.18.4.20', 'lee', 'strict');
  t.deepEqual(d.rule, { file: 'sockd.conf', line: 4 });
  t.is(d.identd, 'off', 'a global -I does not make a deny line ask identd');
  const o = applyIdentd(d, { kind: 'not-asked' });
  t.is(o.reply, 91);
  t.deepEqual(stepsOf(o), [
    'run rule@4',
    'log refused -- Connect from lee(unknown)@172.18.4.20 to 203.0.113.7 (telnet)',
  ]);
});

test('strict mode with identd unavailable: #NO_IDENTD only, refused, then cannot connect (92)', async (t) => {
  const d = await decide('172.18.4.9', 'pat');
  t.is(d.identd, 'strict');
  const o = applyIdentd(d, { kind: 'unavailable', reason: 'refused' });
  t.is(o.reply, 92);
  t.false(o.granted);
  t.is(o.realUser, 'unknown');
  t.deepEqual(stepsOf(o), [
    'run NO_IDENTD@1',
    'log refused -- Connect from pat(unknown)@172.18.4.9 to 203.0.113.7 (telnet)',
    'log cannot connect to identd on 172.18.4.9',
  ]);
});

test('identd naming another user: #BAD_ID only, refused, then the Alert line (93)', async (t) => {
  const d = await decide('172.18.4.9', 'pat');
  const o = applyIdentd(d, { kind: 'user', user: 'mallory' });
  t.is(o.reply, 93);
  t.is(o.realUser, 'mallory');
  t.deepEqual(stepsOf(o), [
    'run BAD_ID@2',
    'log refused -- Connect from pat(mallory)@172.18.4.9 to 203.0.113.7 (telnet)',
    'log *Alert*: real user is mallory, not pat',
  ]);
  const ctx = serverCommandContext(d, o.realUser, 1);
  const bad = expandCommand(o.commands[0]!.template, ctx);
  t.true(bad.ok && bad.text === 'logger "mallory claims pat"', '%U in #BAD_ID is the identd user');
});

test('identd confirming the user continues with the line command and the real user set', async (t) => {
  const d = await decide('172.18.4.9', 'pat');
  const o = applyIdentd(d, { kind: 'user', user: 'pat' });
  t.is(o.reply, 90);
  t.true(o.granted);
  t.is(o.realUser, 'pat');
  t.is(o.identdVerdict, 'confirmed');
  t.deepEqual(stepsOf(o), ['run rule@5']);
  t.is(o.reqdesc, 'Connect from pat(pat)@172.18.4.9 to 203.0.113.7 (telnet)');
});

test('identd comparison is exact: case differs means mismatch', async (t) => {
  const d = await decide('172.18.4.9', 'pat');
  t.is(applyIdentd(d, { kind: 'user', user: 'Pat' }).reply, 93);
});

test('an unreadable user file fails the whole list, is logged, and evaluation goes on', async (t) => {
  const d = await decide('172.18.5.1', 'sam');
  t.deepEqual(
    d.rule,
    { file: 'sockd.conf', line: 7 },
    'sam is listed after the missing file, so line 6 fails',
  );
  t.deepEqual(d.userFileErrors, ['Unable to open userfile (/users/missing): No such file or directory']);
  const o = applyIdentd(d, { kind: 'not-asked' });
  t.deepEqual(o.logs[0], {
    level: 'err',
    text: 'Unable to open userfile (/users/missing): No such file or directory',
  });
  t.deepEqual(stepsOf(o).slice(1), ['run rule@7']);
});

test('lenient mode tolerates a missing identd: #NO_IDENTD, the log line, then the line command', async (t) => {
  const d = await decide('172.18.6.1', 'gina', 'lenient');
  t.is(d.identd, 'lenient', 'the global -i applies to a line without ?=');
  const o = applyIdentd(d, { kind: 'unavailable', reason: 'timeout' });
  t.is(o.reply, 90);
  t.deepEqual(stepsOf(o), ['run NO_IDENTD@1', 'log cannot connect to identd on 172.18.6.1', 'run rule@8']);
  const ctx = serverCommandContext(d, o.realUser, 1);
  t.deepEqual(
    o.commands.map((c) => {
      const e = expandCommand(c.template, ctx);
      return e.ok ? e.text : e.log;
    }),
    ['logger "no identd for gina(unknown) on 172.18.6.1"', 'logger "six gina/unknown"'],
  );
});

test('?=n on the line beats a global -I; a line without ?= takes the global mode', async (t) => {
  t.is((await decide('172.18.5.1', 'x', 'strict')).identd, 'off');
  t.is((await decide('172.18.6.1', 'x', 'strict')).identd, 'strict');
  t.is((await decide('172.18.6.1', 'x', 'off')).identd, 'off');
});

test('a decision that needs identd refuses to be completed without an identd result', async (t) => {
  const d = await decide('172.18.4.9', 'pat');
  const err = t.throws(() => applyIdentd(d, { kind: 'not-asked' }));
  t.is(errorCode(err), 'E_POLICY_IDENTD_REQUIRED');
});

test('REQDESC has the connect, bind and udp forms, an empty user and the unspecified host', async (t) => {
  const src: HostIdentity = await at('10.2.0.7');
  const parts = { user: 'zed', realUser: 'unknown', src, dst: await at('198.51.100.10'), dstServ: 'ftp' };
  t.is(
    describeRequest({ ...parts, command: 'connect' }),
    'Connect from zed(unknown)@10.2.0.7 to 198.51.100.10 (ftp)',
  );
  t.is(
    describeRequest({ ...parts, command: 'bind' }),
    'Bind from zed(unknown)@10.2.0.7 for 198.51.100.10 (ftp)',
  );
  t.is(
    describeRequest({ ...parts, command: 'udp' }),
    'UDP associate from zed(unknown)@10.2.0.7 to 198.51.100.10 (ftp)',
  );
  t.is(
    describeRequest({ ...parts, user: '', dst: await at('0.0.0.0'), command: 'bind' }),
    'Bind from (unknown)@10.2.0.7 for Unspecified.Host (ftp)',
  );
});

test('DSTSERV is the port number when the port has no service name', async (t) => {
  const d: AccessDecision = await decide('192.0.2.5', 'ann', 'off', 1023);
  t.is(d.dstServ, '1023');
  t.is(
    applyIdentd(d, { kind: 'not-asked' }).reqdesc,
    'Connect from ann(unknown)@192.0.2.5 to 203.0.113.7 (1023)',
  );
});

test('rsockd routing log lines: deny pair, direct, via server and unreachable server', async (t) => {
  const parts = {
    user: 'bob',
    realUser: 'bob',
    src: await at('10.1.1.1'),
    dst: await at('192.0.2.33'),
    dstServ: 'http',
  };
  const connect = { ...parts, command: 'connect' as const };
  const bind = { ...parts, command: 'bind' as const };
  t.deepEqual(routeDenyLogs('connect', describeRoutedCall(connect), describeRequest(connect)), [
    'refused -- connect() from bob(bob) to 192.0.2.33 (http)',
    'failed -- Connect from bob(bob)@10.1.1.1 to 192.0.2.33 (http).  Error code: connect() Connection refused',
  ]);
  t.is(
    routeDenyLogs('bind', describeRoutedCall(bind), describeRequest(bind))[0],
    'Refused -- bind() from bob(bob) for 192.0.2.33 (http)',
  );
  t.is(
    routeDirectLog('connect', describeRoutedCall(connect)),
    'connect() directly from bob(bob) to 192.0.2.33 (http)',
  );
  t.is(
    routeDirectLog('bind', describeRoutedCall(bind)),
    'bind() directly from bob(bob) for 192.0.2.33 (http)',
  );
  t.is(
    routeViaLog(describeRoutedCall(connect), '10.0.0.2'),
    'connect() from bob(bob) to 192.0.2.33 (http) using sockd at 10.0.0.2',
  );
  t.is(
    upstreamFailedLog('10.0.0.2', 'Connection refused'),
    'Failed to connect to sockd at 10.0.0.2: Connection refused',
  );
  t.is(upstreamFailedLog(null), 'Failed to connect to sockd at (none)');
});
