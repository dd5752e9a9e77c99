import test from 'ava';
import fc from 'fast-check';
import { dottedOf as dotted } from '../../../src/common/inet-address.ts';
import { ConfigFileError } from '../../../src/config/config-error.ts';
import { checkLocalInterfaces, parseSockdRoute } from '../../../src/config/sockd-route.ts';
import { addrCell, describeAddr } from './_describe.ts';
import { rejectionOf } from './_rejection.ts';
import { readFixture, specTable } from './_spec-tables.ts';

const FILE = '/etc/sockd.route';
const parse = (text: string) => parseSockdRoute(text, { file: FILE });

const errorsOf = (text: string): ConfigFileError => rejectionOf(() => parse(text));

const table = specTable('sockd.route.expect.md', ['line', 'interface', 'destination pattern']);
const routes = parse(readFixture('sockd.route'));

test('sockd.route parses into exactly the route lines its expect table lists', (t) => {
  t.deepEqual(
    routes.routes.map((r) => r.line),
    table.rows.map((r) => Number(r.line)),
  );
});

for (const row of table.rows) {
  test(`sockd.route line ${row.line} sends ${row['destination pattern']} through ${row.interface}`, (t) => {
    const route = routes.routes.find((r) => r.line === Number(row.line));
    if (!route) return t.fail(`line ${row.line} not parsed`);
    t.is<string | undefined, string | undefined>(dotted(route.iface), row.interface);
    t.is(describeAddr(route.dst), addrCell(row['destination pattern'] ?? ''));
  });
}

test('sockd.route.nodefault is the same routes without the default line', (t) => {
  const nodefault = parseSockdRoute(readFixture('sockd.route.nodefault'), { file: 'x' });
  t.deepEqual(
    nodefault.routes.map((r) => r.line),
    [3, 4, 5],
  );
});

test('invalid route lines all say "Invalid entry" with their own code', (t) => {
  const error = errorsOf(
    'eth0 10.0.0.0 255.0.0.0\n10.0.0.1 10.0.0.0\n10.0.0.1 ALL 0 x\n10.0.0.1 ALL : cmd\n10.0.0.1 a b\n',
  );
  t.deepEqual(
    error.errors.map((e) => [e.line, e.code, e.classic]),
    [
      [1, 'E_CONF_IFACE', `Invalid entry at line 1 in file ${FILE}`],
      [2, 'E_CONF_ENTRY', `Invalid entry at line 2 in file ${FILE}`],
      [3, 'E_CONF_ENTRY', `Invalid entry at line 3 in file ${FILE}`],
      [4, 'E_CONF_ENTRY', `Invalid entry at line 4 in file ${FILE}`],
      [5, 'E_CONF_DST_MASK', `Invalid entry at line 5 in file ${FILE}`],
    ],
  );
});

test('a pattern destination may omit its mask', (t) => {
  const route = parse('10.0.0.1 .lab.example.com # c\n').routes[0]!;
  t.deepEqual(route.dst.pattern, { kind: 'zone', zone: 'lab.example.com' });
  t.true(route.dst.maskOmitted);
});

test('checkLocalInterfaces names every route whose interface is not local', (t) => {
  const errors = checkLocalInterfaces(routes, ['10.0.0.1', '127.0.0.1']);
  t.deepEqual(
    errors.map((e) => e.classic),
    [
      'Interface address 192.168.5.1 at line 4 is not local',
      'Interface address 192.168.5.1 at line 5 is not local',
      'Interface address 198.51.100.254 at line 6 is not local',
    ],
  );
  t.true(errors.every((e) => e.code === 'E_CONF_IFACE' && e.column === 1));
  t.deepEqual(checkLocalInterfaces(routes, ['10.0.0.1', '192.168.5.1', '198.51.100.254']), []);
});

test('on arbitrary text the route parser returns routes or throws ConfigFileError', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
      try {
        parse(text);
      } catch (err) {
        return err instanceof ConfigFileError;
      }
      return true;
    }),
  );
  const tokens = ['10.0.0.1', 'eth0', 'ALL', '.lab', '0', '255.0.0.0', '1.2.3.4.5', ':', '#', 'eq', '\t'];
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.constantFrom(...tokens), { maxLength: 5 }), { maxLength: 6 }),
      (lines) => {
        try {
          parse(lines.map((l) => l.join(' ')).join('\n'));
        } catch (err) {
          return (
            err instanceof ConfigFileError &&
            err.errors.every((e) => e.classic.startsWith('Invalid entry at line'))
          );
        }
        return true;
      },
    ),
  );
  t.pass();
});

test('checkLocalInterfaces also takes a test for whole local networks (a loopback /8)', (t) => {
  const loopback = (addr: number) => addr >>> 24 === 127;
  const config = parseSockdRoute('127.0.9.9 ALL\n10.0.0.1 ALL\n192.0.2.1 ALL\n', { file: 'sockd.route' });
  const errors = checkLocalInterfaces(config, ['10.0.0.1'], loopback);
  t.deepEqual(
    errors.map((e) => e.classic),
    ['Interface address 192.0.2.1 at line 3 is not local'],
  );
});
