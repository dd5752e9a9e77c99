import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { builtinServices, loadServices, parseServices } from '../../../src/config/services.ts';

const standard: [string, number][] = [
  ['ftp-data', 20],
  ['ftp', 21],
  ['ssh', 22],
  ['telnet', 23],
  ['smtp', 25],
  ['domain', 53],
  ['http', 80],
  ['www', 80],
  ['pop3', 110],
  ['auth', 113],
  ['nntp', 119],
  ['https', 443],
  ['socks', 1080],
  ['x11', 6000],
];
for (const [name, port] of standard) {
  test(`the built-in table maps ${name} to ${port}`, (t) => {
    t.is(builtinServices.portOf(name), port);
  });
}

test('the built-in table names port 80 http, not www', (t) => {
  t.is(builtinServices.nameOf(80), 'http');
});

test('ports the fixtures treat as unnamed have no built-in name', (t) => {
  for (const port of [81, 1023, 1024, 7999, 8000, 8080])
    t.is(builtinServices.nameOf(port), undefined, String(port));
});

test('service names are case-sensitive and prototype names are not services', (t) => {
  t.is(builtinServices.portOf('TELNET'), undefined);
  t.is(builtinServices.portOf('toString'), undefined);
  t.is(builtinServices.portOf('__proto__'), undefined);
});

test('parseServices keeps TCP entries with aliases and skips comments and UDP', (t) => {
  const table = parseServices(
    '# comment\nfoo\t\t4242/tcp\tbar baz # trailing\nqux 4243/udp\nfoo2 4242/tcp\n\nbad line\n',
  );
  t.is(table.portOf('foo'), 4242);
  t.is(table.portOf('baz'), 4242);
  t.is(table.portOf('qux'), undefined);
  t.is(table.nameOf(4242), 'foo');
});

test('loadServices reads the given file and falls back to the built-in table when it is missing', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sockslab-services-'));
  try {
    const path = join(dir, 'services');
    writeFileSync(path, 'only 9999/tcp\n');
    const loaded = loadServices(path);
    t.is(loaded.portOf('only'), 9999);
    t.is(loaded.portOf('telnet'), undefined);
    t.is(loadServices(join(dir, 'missing')), builtinServices);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
