import test from 'ava';
import { tableResolver } from '../../../src/common/table-resolver.ts';
import { parseSockdRoute } from '../../../src/config/sockd-route.ts';
import { parseSocksConf } from '../../../src/config/socks-conf.ts';
import type { UserFileReader } from '../../../src/config/user-file.ts';
import {
  decideClientRoute,
  planServerAttempts,
  type ServerAttemptPlan,
  serverCandidates,
} from '../../../src/policy/client-route.ts';
import { hostFromAddress, hostFromName } from '../../../src/policy/host.ts';
import { chooseInterface, noInterfaceMessage } from '../../../src/policy/interface-choice.ts';

const resolver = tableResolver({
  reverse: new Map([['192.168.6.1', ['scope.lab.example.com']]]),
  forward: new Map([
    ['scope.lab.example.com', ['192.168.6.1']],
    ['fw.example.com', ['10.0.0.5', '10.0.0.6']],
  ]),
});
const files: UserFileReader = (path) =>
  path === '/u/staff' ? { ok: true, names: ['erin'] } : { ok: false, error: 'Permission denied' };

const conf = parseSocksConf(
  [
    'deny *=mallory 0.0.0.0 0.0.0.0', // 1
    'direct 10.0.0.0 255.0.0.0', // 2
    'sockd @=10.0.0.2,nosuch.example.com,fw.example.com .partner.example.net', // 3
    'sockd@10.0.0.4 192.0.2.0 255.255.255.0 eq nntp', // 4
    'deny 192.0.2.0 255.255.255.0 le 1023 : logger "deny %u"', // 5
    'sockd *=/u/locked,erin 0.0.0.0 0.0.0.0 ge 2000', // 6
    'sockd *=/u/staff 0.0.0.0 0.0.0.0 ge 1024', // 7
    'sockd @= ALL eq http', // 8
  ].join('\n'),
  { file: 'socks.conf' },
);

async function route(dst: string, user: string, port: number, defaultServer?: string) {
  const host = /^\d/.test(dst) ? await hostFromAddress(resolver, dst) : await hostFromName(resolver, dst);
  return decideClientRoute(
    conf,
    { dst: host, user, port },
    { userFiles: files, ...(defaultServer ? { defaultServer } : {}) },
  );
}

test('loopback 127.0.0.1 and 0.0.0.0 are direct without consulting the file', async (t) => {
  for (const dst of ['127.0.0.1', '0.0.0.0']) {
    const d = await route(dst, 'mallory', 25);
    t.is(d.action, 'direct');
    t.is(d.shortcut, 'loopback');
    t.is(d.rule, null);
  }
  t.is((await route('127.0.0.2', 'mallory', 25)).action, 'deny', 'only 127.0.0.1 exactly');
});

test('no routing file at all means everything direct', async (t) => {
  const d = decideClientRoute(
    null,
    { dst: await hostFromAddress(resolver, '198.51.100.1'), user: 'x', port: 80 },
    { userFiles: files },
  );
  t.is(d.action, 'direct');
  t.is(d.shortcut, 'no-file');
});

test('first matching line decides and is cited; nothing matching means deny', async (t) => {
  const d = await route('10.1.1.1', 'mallory', 22);
  t.deepEqual([d.action, d.rule], ['deny', { file: 'socks.conf', line: 1 }]);
  t.deepEqual((await route('10.1.1.1', 'alice', 22)).rule, { file: 'socks.conf', line: 2 });
  const none = await route('198.51.100.1', 'carol', 22);
  t.deepEqual([none.action, none.rule, none.shortcut], ['deny', null, null]);
});

test('a sockd line lists its servers in order; the sockd@ form is the same', async (t) => {
  const d = await route('app.partner.example.net', 'alice', 443);
  t.is(d.action, 'sockd');
  t.deepEqual(serverCandidates(d), ['10.0.0.2', 'nosuch.example.com', 'fw.example.com']);
  t.false(d.usedDefault);
  t.deepEqual(serverCandidates(await route('192.0.2.33', 'bob', 119)), ['10.0.0.4']);
});

test('a sockd line without a list, or with an empty one, uses the default server', async (t) => {
  const d = await route('198.51.100.1', 'carol', 80, '10.0.0.9');
  t.deepEqual([d.rule?.line, d.servers, d.usedDefault], [8, ['10.0.0.9'], true]);
  const none = await route('198.51.100.1', 'carol', 80);
  t.deepEqual(none.servers, [], 'no default: the caller logs "Failed to connect to sockd at (none)"');
});

test('a deny line carries its command; direct and shortcut decisions carry none', async (t) => {
  const d = await route('192.0.2.33', 'bob', 80);
  t.is(d.command?.template, ' logger "deny %u"');
  t.is(d.command?.origin, 'rule');
  t.is((await route('127.0.0.1', 'bob', 80)).command, null);
});

test('an unreadable user file fails its list and is reported; a later line can still match', async (t) => {
  const d = await route('198.51.100.1', 'erin', 2000);
  t.is(d.rule?.line, 7);
  t.deepEqual(d.userFileErrors, ['Unable to open userfile (/u/locked): Permission denied']);
});

test('the fail-over planner resolves names when reached and skips unknown ones with the log line', async (t) => {
  const steps: ServerAttemptPlan[] = [];
  for await (const s of planServerAttempts(
    ['10.0.0.2', 'nosuch.example.com', 'fw.example.com', '0x0a.0.0.3'],
    resolver,
  )) {
    steps.push(s);
  }
  t.deepEqual(steps, [
    { entry: '10.0.0.2', kind: 'addresses', addresses: ['10.0.0.2'] },
    {
      entry: 'nosuch.example.com',
      kind: 'not-found',
      log: 'Failed to connect to sockd at nosuch.example.com: host not found',
    },
    { entry: 'fw.example.com', kind: 'addresses', addresses: ['10.0.0.5', '10.0.0.6'] },
    { entry: '0x0a.0.0.3', kind: 'addresses', addresses: ['10.0.0.3'] },
  ]);
});

test('the planner does not look up later entries once the caller stops', async (t) => {
  const asked: string[] = [];
  const spy = {
    reverse: async () => [],
    forward: async (name: string) => {
      asked.push(name);
      return ['10.9.9.9'];
    },
  };
  for await (const s of planServerAttempts(['a.example', 'b.example'], spy)) {
    if (s.kind === 'addresses') break;
  }
  t.deepEqual(asked, ['a.example']);
});

const routes = parseSockdRoute(
  ['10.0.0.1 10.0.0.0 255.0.0.0', '192.168.5.1 .lab.example.com', '198.51.100.254 0.0.0.0 0.0.0.0'].join(
    '\n',
  ),
  { file: 'sockd.route' },
);

test('the first route line matching the BIND destination gives the interface', async (t) => {
  t.deepEqual(chooseInterface(routes, await hostFromAddress(resolver, '10.3.4.5')), {
    iface: '10.0.0.1',
    rule: { file: 'sockd.route', line: 1 },
    text: '10.0.0.1 10.0.0.0 255.0.0.0',
  });
  t.is(
    chooseInterface(routes, await hostFromAddress(resolver, '192.168.6.1'))?.rule.line,
    2,
    'by confirmed name',
  );
  t.is(chooseInterface(routes, await hostFromAddress(resolver, '0.0.0.0'))?.iface, '198.51.100.254');
  t.is(
    chooseInterface(routes, await hostFromAddress(resolver, '192.168.6.1'))?.text,
    '192.168.5.1 .lab.example.com',
    'the chosen line as written, for traces',
  );
});

test('no matching route is null, with the classic message naming the address', async (t) => {
  const only = parseSockdRoute('10.0.0.1 10.0.0.0 255.0.0.0\n', { file: 'r' });
  const dst = await hostFromAddress(resolver, '11.0.0.1');
  t.is(chooseInterface(only, dst), null);
  t.is(noInterfaceMessage(dst), '***Cannot find appropriate interface to communicate with 11.0.0.1');
});
