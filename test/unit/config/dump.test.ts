import test from 'ava';
import fc from 'fast-check';
import type { AnyConfig } from '../../../src/config/ast.ts';
import { dumpConfig, undumpToText } from '../../../src/config/dump.ts';
import { builtinServices } from '../../../src/config/services.ts';
import { parseSockdConf } from '../../../src/config/sockd-conf.ts';
import { parseSockdRoute } from '../../../src/config/sockd-route.ts';
import { parseSocksConf } from '../../../src/config/socks-conf.ts';
import { clientLine, fileOf, routeLine, serverLine, specialLine } from './_generators.ts';
import { semantics } from './_semantics.ts';
import { readFixture } from './_spec-tables.ts';

const opts = { file: 'f', services: builtinServices };
const parsers = {
  'sockd.conf': (text: string): AnyConfig => parseSockdConf(text, opts),
  'socks.conf': (text: string): AnyConfig => parseSocksConf(text, opts),
  'sockd.route': (text: string): AnyConfig => parseSockdRoute(text, opts),
};

test('the dump of sockd.conf.edge is exactly the listing in its expect file', (t) => {
  const expectMd = readFixture('sockd.conf.edge.expect.md');
  const golden = /```\n(line [\s\S]*?)```/.exec(expectMd)?.[1];
  if (golden === undefined) return t.fail('no ``` listing in sockd.conf.edge.expect.md');
  t.is(dumpConfig(parseSockdConf(readFixture('sockd.conf.edge'), opts)), golden);
});

test('special lines, the sockd@ form and routes are printed in the f.4 form', (t) => {
  t.is(
    dumpConfig(parseSockdConf('#BAD_ID:x\npermit ?=i *=a,b .Z.org eq www :y\n#NO_IDENTD: n\n', opts)),
    'line 1: #BAD_ID:x\nline 2: permit ?=i *=a,b .Z.org 0.0.0.0 0.0.0.0 0.0.0.0 eq 80 : y\nline 3: #NO_IDENTD: n\n',
  );
  t.is(
    dumpConfig(parseSocksConf('sockd@a,b ALL Eq 1\nSockd @= 10 0\n', opts)),
    'line 1: sockd @=a,b ALL 0.0.0.0 eq 1\nline 2: sockd @= 0.0.0.10 0.0.0.0\n',
  );
  t.is(dumpConfig(parseSockdRoute('010.0.0.1 .lab\n', opts)), 'line 1: 8.0.0.1 .lab 0.0.0.0\n');
});

for (const name of ['sockd.conf', 'sockd.conf.domains', 'sockd.conf.edge']) {
  test(`${name}: parsing its dump gives the same rules on the same lines`, (t) => {
    const config = parsers['sockd.conf'](readFixture(name));
    t.deepEqual(semantics(parsers['sockd.conf'](undumpToText(dumpConfig(config)))), semantics(config));
  });
}

test('parse → dump → parse keeps the meaning of generated files of all three kinds', (t) => {
  const kinds = [
    ['sockd.conf', fileOf(fc.oneof(serverLine, specialLine))],
    ['socks.conf', fileOf(clientLine)],
    ['sockd.route', fileOf(routeLine)],
  ] as const;
  for (const [kind, file] of kinds) {
    fc.assert(
      fc.property(file, (text) => {
        const config = parsers[kind](text);
        const again = parsers[kind](undumpToText(dumpConfig(config)));
        t.deepEqual(semantics(again), semantics(config));
        return dumpConfig(again) === dumpConfig(config);
      }),
    );
  }
  t.pass();
});
