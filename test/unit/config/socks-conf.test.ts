import test from 'ava';
import fc from 'fast-check';
import type { ClientConfig } from '../../../src/config/ast.ts';
import { ConfigFileError } from '../../../src/config/config-error.ts';
import { builtinServices } from '../../../src/config/services.ts';
import { parseSocksConf } from '../../../src/config/socks-conf.ts';
import {
  addrCell,
  describeAddr,
  describePort,
  describeServers,
  describeUsers,
  plainCell,
  portCell,
  serversCell,
  usersCell,
} from './_describe.ts';
import { rejectionOf } from './_rejection.ts';
import { readFixture, specTable } from './_spec-tables.ts';

const FILE = '/etc/socks.conf';
const parse = (text: string): ClientConfig => parseSocksConf(text, { file: FILE, services: builtinServices });

const errorsOf = (text: string): ConfigFileError => rejectionOf(() => parse(text));

function only(text: string) {
  const rule = parse(text).rules[0];
  if (!rule) throw new Error('no rule parsed');
  return rule;
}

const table = specTable('socks.conf.expect.md', [
  'line',
  'action',
  'servers',
  'users',
  'destination',
  'port',
]);
const config = parse(readFixture('socks.conf'));

test('socks.conf parses into exactly the rule lines its expect table lists', (t) => {
  t.deepEqual(
    config.rules.map((r) => r.line),
    table.rows.map((r) => Number(r.line)),
  );
});

for (const row of table.rows) {
  test(`socks.conf line ${row.line} means: ${row.action} via ${row.servers}, users ${row.users}, to ${row.destination}, ${row.port}`, (t) => {
    const rule = config.rules.find((r) => r.line === Number(row.line));
    if (!rule) return t.fail(`line ${row.line} not parsed`);
    t.is<string | undefined, string | undefined>(rule.action, plainCell(row.action ?? '').split(' ')[0]);
    t.is(describeServers(rule.action, rule.servers), serversCell(row.servers ?? ''));
    t.is(describeUsers(rule.users), usersCell(row.users ?? ''));
    t.is(describeAddr(rule.dst), addrCell(row.destination ?? ''));
    const port = portCell(row.port ?? '');
    t.is(describePort(rule.port), port.port);
    if (port.command) t.truthy(rule.command);
    if ((row.action ?? '').includes('sockd@')) t.true(rule.servers?.atForm);
  });
}

test('socks.conf.seed is the single rule "direct ALL" with the mask omitted', (t) => {
  const seed = parseSocksConf(readFixture('socks.conf.seed'), { file: 'socks.conf.seed' });
  t.is(seed.rules.length, 1);
  t.is(seed.rules[0]!.action, 'direct');
  t.is(seed.rules[0]!.dst.pattern.kind, 'all');
  t.true(seed.rules[0]!.dst.maskOmitted);
});

test('the sockd@ prefix is case-sensitive; the sockd keyword is not', (t) => {
  t.is(only('SOCKD @=a ALL').servers?.text, '@=a');
  const error = errorsOf('Sockd@a ALL').errors[0]!;
  t.is(error.code, 'E_CONF_ACTION');
  t.is(error.classic, `Invalid sockd/direct/deny field at line 1 in file ${FILE}`);
});

test('sockd@ with nothing after it and empty @= both mean the default server', (t) => {
  t.deepEqual(only('sockd@ ALL').servers?.entries, []);
  t.deepEqual(only('sockd @= ALL').servers?.entries, []);
  t.is(only('sockd ALL').servers, undefined);
});

test('@= is recognised only right after sockd', (t) => {
  t.is(only('direct @=a 0').dst.text, '@=a');
  t.is(only('sockd *=u @=a 0').dst.text, '@=a');
});

test('domain, nameserver, bind and findserver lines are ignored', (t) => {
  t.deepEqual(parse('domain x\nnameserver 1.2.3.4\nbind a b c\nfindserver q\n').rules, []);
});

test('the d.2 error messages are given for each kind of invalid line', (t) => {
  const error = errorsOf(
    'permit ALL\ndirect 10.0.0.0\ndirect 10.0.0.0 zz\ndirect ALL 0 neq80 1\ndirect ALL eq 70000\ndirect ALL eq 1 2\n',
  );
  t.deepEqual(error.classicMessages, [
    `Invalid sockd/direct/deny field at line 1 in file ${FILE}`,
    `Invalid entry at line 2 in file ${FILE}`,
    `Illegal destination mask at line 3 in file ${FILE}`,
    `Invalid comparison at line 4 in file ${FILE}`,
    `Invalid port number at line 5 in file ${FILE}`,
    `Invalid entry at line 6 in file ${FILE}`,
  ]);
});

test('a socks.conf line may be 1024 bytes, not 1025; #NO_IDENTD: is just a comment here', (t) => {
  const base = 'direct ALL :';
  t.is(parse(base + 'x'.repeat(1024 - base.length)).rules.length, 1);
  t.is(errorsOf(base + 'x'.repeat(1025 - base.length)).errors[0]!.code, 'E_CONF_TOO_LONG');
  t.deepEqual(parse('#NO_IDENTD: x\n').rules, []);
});

test('on arbitrary text the client parser returns a config or throws ConfigFileError', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
      try {
        parse(text);
      } catch (err) {
        return err instanceof ConfigFileError;
      }
      return true;
    }),
  );
  const tokens = [
    'sockd',
    'sockd@',
    'sockd@a,b',
    '@=',
    '@=x,,y',
    'direct',
    'deny',
    'domain',
    '*=u',
    'ALL',
    '.z',
    '1.2.3.4',
    '0',
    'eq',
    'http',
    ':',
    '#',
  ];
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.constantFrom(...tokens), { maxLength: 8 }), { maxLength: 6 }),
      (lines) => {
        try {
          parse(lines.map((l) => l.join(' ')).join('\n'));
        } catch (err) {
          return err instanceof ConfigFileError;
        }
        return true;
      },
    ),
  );
  t.pass();
});
