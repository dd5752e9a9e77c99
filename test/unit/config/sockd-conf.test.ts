import test from 'ava';
import fc from 'fast-check';
import { dottedOf as dotted } from '../../../src/common/inet-address.ts';
import type { ServerConfig } from '../../../src/config/ast.ts';
import { ConfigFileError } from '../../../src/config/config-error.ts';
import { builtinServices } from '../../../src/config/services.ts';
import { parseSockdConf } from '../../../src/config/sockd-conf.ts';
import {
  addrCell,
  describeAddr,
  describeIdentd,
  describePort,
  describeUsers,
  identdCell,
  portCell,
  usersCell,
} from './_describe.ts';
import { rejectionOf } from './_rejection.ts';
import { codeSpans, readFixture, specTable } from './_spec-tables.ts';

const FILE = '/etc/sockd.conf';
const parse = (text: string): ServerConfig => parseSockdConf(text, { file: FILE, services: builtinServices });

const errorsOf = (text: string, file = FILE): ConfigFileError =>
  rejectionOf(() => parseSockdConf(text, { file, services: builtinServices }));

function only(text: string) {
  const rule = parse(text).rules[0];
  if (!rule) throw new Error('no rule parsed');
  return rule;
}

// --- sockd.conf.invalid: every line gives exactly its classic message ---

const invalid = specTable('sockd.conf.invalid.expect.md', [
  'line',
  'error (message prefix, followed by ` in file PATH`)',
]);
const invalidErrors = errorsOf(readFixture('sockd.conf.invalid'), '/x/sockd.conf.invalid');

test('sockd.conf.invalid is rejected with one error per listed line, in file order', (t) => {
  t.deepEqual(
    invalidErrors.errors.map((e) => e.line),
    invalid.rows.map((r) => Number(r.line)),
  );
});

for (const row of invalid.rows) {
  const [prefix = ''] = codeSpans(row['error (message prefix, followed by ` in file PATH`)'] ?? '');
  test(`sockd.conf.invalid line ${row.line} (${row.reason}) gives "${prefix} in file PATH"`, (t) => {
    const error = invalidErrors.errors.find((e) => e.line === Number(row.line));
    t.is(error?.classic, `${prefix} in file /x/sockd.conf.invalid`);
  });
}

// --- parsed meaning tables of sockd.conf and sockd.conf.domains ---

const mainTable = specTable('sockd.conf.expect.md', [
  'line',
  'action',
  'identd',
  'users',
  'source',
  'destination',
]);
const mainRules = parse(readFixture('sockd.conf'));

test('sockd.conf parses into exactly the rule lines its expect table lists', (t) => {
  t.deepEqual(
    mainRules.rules.map((r) => r.line),
    mainTable.rows.map((r) => Number(r.line)),
  );
});

for (const row of mainTable.rows) {
  test(`sockd.conf line ${row.line} means: ${row.action}, ${row.identd}, users ${row.users}, ${row.source} → ${row.destination}, ${row['port test']}`, (t) => {
    const rule = mainRules.rules.find((r) => r.line === Number(row.line));
    if (!rule) return t.fail(`line ${row.line} not parsed`);
    t.is<string | undefined, string | undefined>(rule.action, row.action);
    t.is(describeIdentd(rule.identd), identdCell(row.identd ?? ''));
    t.is(describeUsers(rule.users), usersCell(row.users ?? ''));
    t.is(describeAddr(rule.src), addrCell(row.source ?? ''));
    t.is(describeAddr(rule.dst), addrCell(row.destination ?? ''));
    const port = portCell(row['port test'] ?? '');
    t.is(describePort(rule.port), port.port);
    if (port.command) t.truthy(rule.command);
    if ((row.destination ?? '').includes('omitted')) t.true(rule.dstDefaulted);
  });
}

test('sockd.conf keeps the first #NO_IDENTD: and #BAD_ID: lines with their text after the colon', (t) => {
  t.deepEqual(mainRules.noIdentd, {
    line: 3,
    command: ' /usr/bin/logger -t sockd "no identd on %A (%a), user %u"',
  });
  t.deepEqual(mainRules.badId, {
    line: 4,
    command: ' /usr/bin/logger -t sockd "ALERT: %U pretends to be %u on %A"',
  });
});

const domainsTable = specTable('sockd.conf.domains.expect.md', [
  'line',
  'action',
  'source',
  'destination',
  'port',
]);
const domainRules = parse(readFixture('sockd.conf.domains'));

test('sockd.conf.domains parses into exactly the rule lines its expect table lists', (t) => {
  t.deepEqual(
    domainRules.rules.map((r) => r.line),
    domainsTable.rows.map((r) => Number(r.line)),
  );
});

for (const row of domainsTable.rows) {
  test(`sockd.conf.domains line ${row.line} means: ${row.action} ${row.source} → ${row.destination}, ${row.port}`, (t) => {
    const rule = domainRules.rules.find((r) => r.line === Number(row.line));
    if (!rule) return t.fail(`line ${row.line} not parsed`);
    t.is<string | undefined, string | undefined>(rule.action, row.action);
    t.is(describeAddr(rule.src), addrCell(row.source ?? ''));
    t.is(describeAddr(rule.dst), addrCell(row.destination ?? ''));
    t.is(describePort(rule.port), portCell(row.port ?? '').port);
  });
}

// --- sockd.conf.edge: surprising but valid lines ---

const edge = parse(readFixture('sockd.conf.edge'));
const edgeLine = (n: number) => edge.rules.find((r) => r.line === n);

test('an octal first part and an 80abc port mean 10.0.0.0 and port 80', (t) => {
  const rule = edgeLine(2);
  t.is(describeAddr(rule!.src), '10.0.0.0/255.0.0.0');
  t.is(describePort(rule!.port), 'eq 80');
  t.is(rule!.port?.text, '80abc');
});

test('a three-part address means 192.168.0.1', (t) => {
  t.is(describeAddr(edgeLine(3)!.src), '192.168.0.1/255.255.255.255');
});

test('an unknown operator is taken as a destination host with a numeric mask', (t) => {
  const rule = edgeLine(4)!;
  t.is(describeAddr(rule.dst), 'host between');
  t.is(dotted(rule.dst.mask), '0.0.0.80');
  t.is(rule.port, undefined);
});

test('a # before the first : makes the rest a comment, so there is no command', (t) => {
  const rule = edgeLine(5)!;
  t.is(describePort(rule.port), 'eq 8080');
  t.is(rule.command, undefined);
});

test('a # after the first : belongs to the command, which keeps its leading blank', (t) => {
  t.is(edgeLine(6)!.command, ' echo "a # inside a command is kept: %u"');
});

// --- individual rules of c.2 / c.3 ---

test('CRLF line ends are stripped so the last field stays numeric', (t) => {
  const config = parse('permit 10.0.0.0 255.0.0.0\r\ndeny 0.0.0.0 0.0.0.0 : echo x\r\n');
  t.is(config.rules.length, 2);
  t.is(config.rules[0]!.source, 'permit 10.0.0.0 255.0.0.0');
  t.is(config.rules[1]!.command, ' echo x');
});

test('a line of 1023 bytes is accepted and one of 1024 is "too long"', (t) => {
  const base = 'permit 10.0.0.0 255.0.0.0 :';
  const ok = base + 'x'.repeat(1023 - base.length);
  t.is(parse(ok).rules.length, 1);
  const error = errorsOf(`# first\n${ok}x\n`);
  t.is(error.errors[0]!.code, 'E_CONF_TOO_LONG');
  t.is(error.errors[0]!.classic, `Line 2 too long in file ${FILE}`);
});

test('a too-long comment line is invalid too', (t) => {
  t.is(errorsOf(`#${'c'.repeat(1023)}`).errors[0]!.code, 'E_CONF_TOO_LONG');
});

test('special lines count only in column 1 and only the first of each kind', (t) => {
  const config = parse(' #NO_IDENTD: a\n#NO_IDENTD: b\n#NO_IDENTD: c\n#BAD_ID:d\n#bad_id: e\n');
  t.deepEqual(config.noIdentd, { line: 2, command: ' b' });
  t.deepEqual(config.badId, { line: 4, command: 'd' });
  t.is(config.rules.length, 0);
});

test('a file with no rules is valid', (t) => {
  t.deepEqual(parse('# nothing\n\n   \n').rules, []);
  t.deepEqual(parse('').rules, []);
});

test('actions and operators are case-insensitive; ALL is case-sensitive', (t) => {
  const rule = only('PeRmIt ALL GE 1024');
  t.is(rule.action, 'permit');
  t.is(rule.src.pattern.kind, 'all');
  t.is(describePort(rule.port), 'ge 1024');
  t.deepEqual(only('permit all 0').src.pattern, { kind: 'name', name: 'all' });
});

test('domain patterns are lower-cased for matching but keep their text as written', (t) => {
  const rule = only('deny .Example.COM 0 ws.Lab.ORG');
  t.deepEqual(rule.src.pattern, { kind: 'zone', zone: 'example.com' });
  t.is(rule.src.text, '.Example.COM');
  t.false(rule.src.maskOmitted);
  t.true(rule.dst.maskOmitted);
  t.deepEqual(rule.dst.pattern, { kind: 'name', name: 'ws.lab.org' });
});

test('user lists keep empty elements and file elements', (t) => {
  const rule = only('permit *=a,,/etc/u,b, ALL');
  t.deepEqual(rule.users?.elements, [
    { kind: 'name', name: 'a' },
    { kind: 'name', name: '' },
    { kind: 'file', path: '/etc/u' },
    { kind: 'name', name: 'b' },
    { kind: 'name', name: '' },
  ]);
  t.is(rule.users?.text, '*=a,,/etc/u,b,');
});

test('the ?= letters are exact', (t) => {
  t.is(only('permit ?=I ALL').identd?.mode, 'strict');
  t.is(only('permit ?=i ALL').identd?.mode, 'lenient');
  t.is(only('permit ?=n ALL').identd?.mode, 'off');
  t.is(only('permit ?= ALL').identd?.mode, 'off');
  for (const bad of ['?=N', '?=Ix', '?=Ino', '?=ii', '?=constructor']) {
    t.is(errorsOf(`permit ${bad} ALL`).errors[0]?.code, 'E_CONF_IDENTD', bad);
  }
});

test('ports: service names, leading digits, 0 and 65535 valid; 65536 invalid', (t) => {
  t.is(only('permit ALL eq telnet').port?.port, 23);
  t.is(only('permit ALL eq www').port?.port, 80);
  t.is(only('permit ALL eq 0').port?.port, 0);
  t.is(only('permit ALL eq 65535').port?.port, 65535);
  t.is(only('permit ALL eq 00080').port?.port, 80);
  t.is(errorsOf('permit ALL eq 65536').errors[0]?.code, 'E_CONF_PORT');
  t.is(errorsOf('permit ALL eq 99999999999999999999999').errors[0]?.code, 'E_CONF_PORT');
  t.is(errorsOf('permit ALL eq x80').errors[0]?.code, 'E_CONF_PORT');
});

test('a non-numeric source mask is an illegal source mask', (t) => {
  const error = errorsOf('permit 10.0.0.0 mask').errors[0]!;
  t.is(error.code, 'E_CONF_SRC_MASK');
  t.is(error.classic, `Illegal source mask at line 1 in file ${FILE}`);
});

test('a pattern source followed by an operator takes mask 0.0.0.0', (t) => {
  const rule = only('permit .x.org eq 80');
  t.true(rule.src.maskOmitted);
  t.is(rule.src.mask, 0);
  t.true(rule.dstDefaulted);
  t.is(describePort(rule.port), 'eq 80');
});

test('every invalid line is reported at once, each with column and caret', (t) => {
  const error = errorsOf('permit 10.0.0.0 255.0.0.0\nallow ALL\npermit\tALL\teq  x\n');
  t.deepEqual(
    error.errors.map((e) => [e.line, e.column, e.code]),
    [
      [2, 1, 'E_CONF_ACTION'],
      [3, 16, 'E_CONF_PORT'],
    ],
  );
  t.is(
    error.errors[1]!.message,
    `${FILE}:3:16: port "x" is neither a service name nor a number, expected a TCP service name or a port number\n` +
      'permit\tALL\teq  x\n' +
      '      \t   \t    ^',
  );
  t.true(error.message.includes(error.errors[0]!.message));
});

test('rule nodes carry file, line, source text and field columns', (t) => {
  const config = parse('\n  deny  *=u  10.0.0.0 255.0.0.0   1.2.3.4 255.255.255.255 lt 99 :x');
  const rule = config.rules[0]!;
  t.is(rule.file, FILE);
  t.is(rule.line, 2);
  t.is(rule.source, '  deny  *=u  10.0.0.0 255.0.0.0   1.2.3.4 255.255.255.255 lt 99 :x');
  t.is(rule.users?.pos.column, 9);
  t.is(rule.src.pos.column, 14);
  t.is(rule.dst.pos.column, 35);
  t.is(rule.port?.pos.column, 59);
  t.is(rule.command, 'x');
});

// --- properties ---

const TOKENS = [
  'permit',
  'deny',
  'DENY',
  'allow',
  '?=I',
  '?=i',
  '?=',
  '?=x',
  '*=',
  '*=a,,/f',
  'ALL',
  'all',
  '.zone.org',
  'host',
  '10.0.0.0',
  '255.0.0.0',
  '0',
  '0x',
  '08',
  'eq',
  'NEQ',
  'lt',
  'telnet',
  '80abc',
  '65536',
  ':',
  '#',
  '#NO_IDENTD:',
  '\t',
  '\r',
];

test('on arbitrary text the parser returns a config or throws ConfigFileError, nothing else', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
      try {
        parse(text);
      } catch (err) {
        return err instanceof ConfigFileError && err.errors.length > 0;
      }
      return true;
    }),
  );
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.constantFrom(...TOKENS), { maxLength: 10 }), { maxLength: 8 }),
      (lines) => {
        const text = lines.map((fields) => fields.join(' ')).join('\n');
        try {
          const config = parse(text);
          return config.rules.every((r) => r.line >= 1 && r.line <= lines.length);
        } catch (err) {
          return (
            err instanceof ConfigFileError && err.errors.every((e) => e.classic.endsWith(` in file ${FILE}`))
          );
        }
      },
    ),
  );
  t.pass();
});
