import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import {
  loadRuleFiles,
  mergeReload,
  parseRuleText,
  type RulePaths,
  toServerRules,
} from '../../../src/server/load-rules.ts';

// File selection and fail-closed loading (c.1, c.12, d.1, e) and the reload policy of h.3.

async function dir(t: import('ava').ExecutionContext): Promise<RulePaths> {
  const d = await mkdtemp(join(tmpdir(), 'rules-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return {
    conf: join(d, 'sockd.conf'),
    fc: join(d, 'sockd.fc'),
    clientConf: join(d, 'socks.conf'),
    clientFc: join(d, 'socks.fc'),
    route: join(d, 'sockd.route'),
    fr: join(d, 'sockd.fr'),
  };
}

test('no sockd.conf refuses everything with Unable to open config file; no socks.conf means direct', async (t) => {
  const paths = await dir(t);
  const rules = toServerRules(await loadRuleFiles({ paths, mode: 'rsockd' }));
  t.deepEqual(rules.server, { unusable: [`Unable to open config file (${paths.conf})`] });
  t.is(rules.client, null);
  t.is(rules.route, null);
});

test('an invalid file becomes unusable with every classic message', async (t) => {
  const paths = await dir(t);
  await writeFile(paths.conf, 'permit ALL\nbogus 1.2.3.4 255.255.255.255\n');
  await writeFile(paths.clientConf, 'direct\n');
  const loaded = await loadRuleFiles({ paths, mode: 'rsockd' });
  t.is(loaded.server.status, 'invalid');
  const rules = toServerRules(loaded);
  t.deepEqual(rules.server, { unusable: [`Invalid permit/deny field at line 2 in file ${paths.conf}`] });
  t.true(rules.client !== null && rules.client !== undefined && 'unusable' in rules.client);
});

test('a frozen file that exists takes precedence and is never silently replaced by the text file', async (t) => {
  const paths = await dir(t);
  await writeFile(paths.conf, 'permit ALL\n');
  await writeFile(paths.fc, 'not a frozen file');
  const loaded = await loadRuleFiles({
    paths,
    mode: 'sockd',
    frozen: async () => {
      throw new Error('bad magic');
    },
  });
  t.deepEqual(toServerRules(loaded).server, { unusable: [`Error: read from ${paths.fc}: bad magic`] });
});

test('on reload an invalid file keeps its previous rules and reports its errors', async (t) => {
  const paths = await dir(t);
  await writeFile(paths.conf, 'permit ALL\n');
  await writeFile(paths.clientConf, 'direct ALL\n');
  const before = toServerRules(await loadRuleFiles({ paths, mode: 'rsockd' }));
  await writeFile(paths.conf, 'permit ALL eq 99999\n');
  await writeFile(paths.clientConf, 'deny ALL\n');
  const merged = mergeReload(before, await loadRuleFiles({ paths, mode: 'rsockd' }));
  t.is(merged.rules.server, before.server);
  t.deepEqual(merged.errors, [`Invalid port number at line 1 in file ${paths.conf}`]);
  t.not(merged.rules.client, before.client, 'a valid new socks.conf is taken');
});

test('on reload a file that was in use and is now missing keeps its previous rules; one never there stays absent', async (t) => {
  const paths = await dir(t);
  await writeFile(paths.conf, 'permit ALL\n');
  await writeFile(paths.clientConf, 'direct ALL\n');
  const before = toServerRules(await loadRuleFiles({ paths, mode: 'rsockd' }));
  await rm(paths.conf);
  await rm(paths.clientConf);
  const merged = mergeReload(before, await loadRuleFiles({ paths, mode: 'rsockd' }));
  t.is(merged.rules.server, before.server);
  t.is(merged.rules.client, before.client);
  t.is(merged.rules.route, null, 'no sockd.route before, none now, nothing to say');
  t.deepEqual(merged.errors, [
    `Unable to open config file (${paths.conf}): No such file or directory; keeping its previous rules`,
    `Unable to open config file (${paths.clientConf}): No such file or directory; keeping its previous rules`,
  ]);
});

test('a valid frozen file is used instead of the text file (f.3), and a corrupt one fails closed', async (t) => {
  const { freeze } = await import('../../../src/config/frozen.ts');
  const { readFrozenFile } = await import('../../../src/config/read-frozen.ts');
  const { parseSockdConf } = await import('../../../src/config/sockd-conf.ts');
  const paths = await dir(t);
  await writeFile(paths.conf, 'permit ALL\n');
  await writeFile(paths.fc, freeze(parseSockdConf('deny ALL\n', { file: paths.conf })));
  const rules = toServerRules(await loadRuleFiles({ paths, mode: 'sockd', frozen: readFrozenFile }));
  t.true('rules' in rules.server && rules.server.rules[0]?.action === 'deny');
  await writeFile(paths.fc, 'garbage');
  const broken = toServerRules(await loadRuleFiles({ paths, mode: 'sockd', frozen: readFrozenFile }));
  t.true(
    'unusable' in broken.server && broken.server.unusable[0]!.startsWith(`Error: read from ${paths.fc}: `),
  );
});

test('a file text handed over in memory parses as the file would, and an invalid one keeps every classic message', (t) => {
  const good = parseRuleText('socks.conf', 'direct 10.1.0.0 255.255.255.0\nsockd @=A ALL\n', 'socks.conf');
  if (!good.ok) return t.fail(good.error.message);
  t.is(good.config.kind, 'socks.conf');
  t.deepEqual(
    good.config.rules.map((r) => [r.line, r.action]),
    [
      [1, 'direct'],
      [2, 'sockd'],
    ],
  );
  const bad = parseRuleText(
    'sockd.conf',
    'permit 10.0.0.0 255.0.0.0\nallow everything\npermit 10.0.0.0\n',
    'sockd.conf',
  );
  if (bad.ok) return t.fail('the text is invalid');
  t.deepEqual(bad.error.classicMessages, [
    'Invalid permit/deny field at line 2 in file sockd.conf',
    'Invalid entry at line 3 in file sockd.conf',
  ]);
});
