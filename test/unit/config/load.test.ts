import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { freeze } from '../../../src/config/frozen.ts';
import { loadConfigFile } from '../../../src/config/load.ts';
import { readFrozenFile } from '../../../src/config/read-frozen.ts';
import { parseSockdConf } from '../../../src/config/sockd-conf.ts';
import { parseSocksConf } from '../../../src/config/socks-conf.ts';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sockslab-load-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const TEXT = 'permit 10.0.0.0 255.0.0.0\n';
const OTHER = 'deny ALL\n';

test('the frozen file is used when it exists, even if the text file differs', (t) => {
  const dir = tempDir(t);
  const text = join(dir, 'sockd.conf');
  const frozen = join(dir, 'sockd.fc');
  writeFileSync(text, OTHER);
  writeFileSync(frozen, freeze(parseSockdConf(TEXT, { file: text })));
  const past = new Date(Date.now() + 60_000);
  utimesSync(frozen, past, past);
  const result = loadConfigFile('sockd.conf', { text, frozen });
  if (!('config' in result)) return t.fail(JSON.stringify(result));
  t.deepEqual(result.config, parseSockdConf(TEXT, { file: text }));
  t.deepEqual(result.from, { path: frozen, frozen: true });
  t.deepEqual(result.warnings, []);
});

test('a frozen file older than its text file is still used, with a warning', (t) => {
  const dir = tempDir(t);
  const text = join(dir, 'sockd.conf');
  const frozen = join(dir, 'sockd.fc');
  writeFileSync(frozen, freeze(parseSockdConf(TEXT, { file: text })));
  writeFileSync(text, OTHER);
  const old = new Date(Date.now() - 60_000);
  utimesSync(frozen, old, old);
  const result = loadConfigFile('sockd.conf', { text, frozen });
  t.true('config' in result && result.from.frozen);
  t.deepEqual(result.warnings, [`frozen file ${frozen} is older than ${text}`]);
});

test('a corrupt frozen file fails closed instead of falling back to a valid text file', (t) => {
  const dir = tempDir(t);
  const text = join(dir, 'sockd.conf');
  const frozen = join(dir, 'sockd.fc');
  writeFileSync(text, TEXT);
  writeFileSync(frozen, freeze(parseSockdConf(TEXT, { file: text })).subarray(0, 60));
  const result = loadConfigFile('sockd.conf', { text, frozen });
  if (!('errors' in result)) return t.fail('expected errors');
  t.is(result.problems[0]?.code, 'E_FROZEN_CORRUPT');
  t.regex(result.errors[0] ?? '', new RegExp(`^Error: read from ${frozen}: `));
});

test('a frozen file of another kind fails closed', (t) => {
  const dir = tempDir(t);
  const frozen = join(dir, 'socks.fc');
  writeFileSync(frozen, freeze(parseSockdConf(TEXT, { file: 'x' })));
  const result = loadConfigFile('socks.conf', { frozen, text: join(dir, 'socks.conf') });
  t.true('errors' in result && result.problems[0]?.code === 'E_FROZEN_KIND');
});

test('an unreadable frozen file fails closed', (t) => {
  const dir = tempDir(t);
  const frozen = join(dir, 'sockd.fc');
  mkdirSync(frozen);
  const result = loadConfigFile('sockd.conf', { frozen, text: join(dir, 'sockd.conf') });
  t.true('errors' in result && result.errors[0]?.startsWith(`Error: read from ${frozen}: `));
});

test('without a frozen file the text file is parsed', (t) => {
  const dir = tempDir(t);
  const text = join(dir, 'socks.conf');
  writeFileSync(text, 'direct ALL\n');
  const result = loadConfigFile('socks.conf', { text, frozen: join(dir, 'socks.fc') });
  if (!('config' in result)) return t.fail(JSON.stringify(result));
  t.deepEqual(result.config, parseSocksConf('direct ALL\n', { file: text }));
  t.deepEqual(result.from, { path: text, frozen: false });
});

test('an invalid text file gives every classic error', (t) => {
  const dir = tempDir(t);
  const text = join(dir, 'sockd.conf');
  writeFileSync(text, 'allow ALL\npermit 1.2.3.4\n');
  const result = loadConfigFile('sockd.conf', { text });
  if (!('errors' in result)) return t.fail('expected errors');
  t.deepEqual(result.errors, [
    `Invalid permit/deny field at line 1 in file ${text}`,
    `Invalid entry at line 2 in file ${text}`,
  ]);
});

test('missing files are reported as missing, unreadable ones as errors', (t) => {
  const dir = tempDir(t);
  t.deepEqual(loadConfigFile('sockd.route', { text: join(dir, 'r'), frozen: join(dir, 'f') }), {
    missing: true,
    warnings: [],
  });
  t.deepEqual(loadConfigFile('sockd.route', {}), { missing: true, warnings: [] });
  const result = loadConfigFile('sockd.route', { text: dir });
  t.true('errors' in result && result.errors[0] === `Unable to open routing file (${dir})`);
});

test('readFrozenFile thaws a frozen file and rejects a missing or wrong-kind one with a ConfigError', async (t) => {
  const dir = tempDir(t);
  const frozen = join(dir, 'sockd.fc');
  const config = parseSockdConf(TEXT, { file: 'sockd.conf' });
  writeFileSync(frozen, freeze(config));
  t.deepEqual(await readFrozenFile(frozen, 'sockd.conf'), config);
  await t.throwsAsync(readFrozenFile(frozen, 'sockd.route'), { code: 'E_FROZEN_KIND' });
  const missing = await t.throwsAsync(readFrozenFile(join(dir, 'none'), 'sockd.conf'));
  t.regex((missing as { classic?: string } | undefined)?.classic ?? '', /^Error: read from .*none: /);
});
