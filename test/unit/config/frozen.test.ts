import test from 'ava';
import fc from 'fast-check';
import type { AnyConfig } from '../../../src/config/ast.ts';
import { ConfigError } from '../../../src/config/config-error.ts';
import { FROZEN_VERSION, freeze, thaw } from '../../../src/config/frozen.ts';
import { builtinServices } from '../../../src/config/services.ts';
import { parseSockdConf } from '../../../src/config/sockd-conf.ts';
import { parseSockdRoute } from '../../../src/config/sockd-route.ts';
import { parseSocksConf } from '../../../src/config/socks-conf.ts';
import { clientLine, fileOf, routeLine, serverLine, specialLine } from './_generators.ts';
import { readFixture } from './_spec-tables.ts';

const opts = { file: '/etc/x', services: builtinServices };
const server = parseSockdConf(readFixture('sockd.conf'), opts);
const fixtures: AnyConfig[] = [
  server,
  parseSockdConf(readFixture('sockd.conf.edge'), opts),
  parseSockdConf(readFixture('sockd.conf.domains'), opts),
  parseSocksConf(readFixture('socks.conf'), opts),
  parseSocksConf(readFixture('socks.conf.seed'), opts),
  parseSockdRoute(readFixture('sockd.route'), opts),
];

function thawError(bytes: Uint8Array, kind?: AnyConfig['kind']): ConfigError {
  try {
    thaw(bytes, kind === undefined ? { file: '/etc/sockd.fc' } : { file: '/etc/sockd.fc', kind });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected thaw to fail');
}

for (const config of fixtures) {
  test(`a frozen ${config.kind} with ${'rules' in config ? config.rules.length : config.routes.length} entries thaws to an equal config`, (t) => {
    t.deepEqual(thaw(freeze(config), { file: 'x', kind: config.kind }), config);
  });
}

test('freeze → thaw gives a deep-equal config for generated files of all three kinds', (t) => {
  const gens = [
    fileOf(fc.oneof(serverLine, specialLine)).map((text) => parseSockdConf(text, opts) as AnyConfig),
    fileOf(clientLine).map((text) => parseSocksConf(text, opts) as AnyConfig),
    fileOf(routeLine).map((text) => parseSockdRoute(text, opts) as AnyConfig),
  ];
  for (const gen of gens) {
    fc.assert(
      fc.property(gen, (config) => {
        t.deepEqual(thaw(freeze(config), { file: 'x' }), config);
      }),
    );
  }
  t.pass();
});

test('a frozen file starts with its kind magic and version, independent of the platform', (t) => {
  const bytes = freeze(server);
  t.is(bytes.toString('latin1', 0, 8), 'SLSDFC\r\n');
  t.is(bytes.readUInt32BE(8), FROZEN_VERSION);
  t.is(bytes.readUInt32BE(12), bytes.length - 48);
});

test('a frozen file of another kind is refused with E_FROZEN_KIND', (t) => {
  const error = thawError(freeze(server), 'socks.conf');
  t.is(error.code, 'E_FROZEN_KIND');
  t.regex(error.classic, /^Error: read from \/etc\/sockd\.fc: /);
});

test('every truncation of a frozen file is detected', (t) => {
  const bytes = freeze(fixtures[1]!);
  for (let length = 0; length < bytes.length; length++) {
    t.is(thawError(bytes.subarray(0, length)).code, 'E_FROZEN_CORRUPT', `length ${length}`);
  }
});

test('a flipped bit anywhere is detected', (t) => {
  const bytes = freeze(fixtures[1]!);
  fc.assert(
    fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 7 }), (index, bit) => {
      const copy = Buffer.from(bytes);
      copy[index] = (copy[index] ?? 0) ^ (1 << bit);
      const code = thawError(copy).code;
      return code === 'E_FROZEN_CORRUPT' || code === 'E_FROZEN_KIND';
    }),
  );
  t.pass();
});

test('another format version and trailing bytes are refused', (t) => {
  const bytes = Buffer.from(freeze(server));
  bytes.writeUInt32BE(FROZEN_VERSION + 1, 8);
  t.regex(thawError(bytes).message, /format version 2/);
  t.is(thawError(Buffer.concat([freeze(server), Buffer.from('x')])).code, 'E_FROZEN_CORRUPT');
});

test('a well-formed envelope around a payload that is not a config is refused', async (t) => {
  const { createHash } = await import('node:crypto');
  const payload = Buffer.from(
    JSON.stringify({ kind: 'sockd.conf', file: 'x', rules: [{ action: 'allow' }] }),
  );
  const header = Buffer.alloc(48);
  header.write('SLSDFC\r\n', 0, 'latin1');
  header.writeUInt32BE(FROZEN_VERSION, 8);
  header.writeUInt32BE(payload.length, 12);
  createHash('sha256').update(payload).digest().copy(header, 16);
  t.is(thawError(Buffer.concat([header, payload])).code, 'E_FROZEN_CORRUPT');
});
