import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { freeze } from '../../../src/config/frozen.ts';
import { parseSockdConf } from '../../../src/config/sockd-conf.ts';
import { socks4, startEcho } from './helpers.ts';
import { root, standalone, tempDir } from './processes.ts';

// What a server process loads decides what each start costs, and an inetd-mode server (the
// systemd socket unit's rsockd@.service) starts once per connection: prom-client and zod were a
// third and a quarter of that start's CPU. They load only when --metrics or a frozen file asks.

const recorder = join(root, 'test/helpers/preload/record-modules.mjs');

async function loadedBy(t: ExecutionContext, files: { fc?: boolean }, extra: string[]) {
  const dir = await tempDir(t);
  const echo = await startEcho(t);
  const rule = `permit 127.0.0.0 255.0.0.0\n`;
  await writeFile(join(dir, 'sockd.conf'), rule);
  if (files.fc)
    await writeFile(join(dir, 'sockd.fc'), freeze(parseSockdConf(rule, { file: join(dir, 'sockd.conf') })));
  const list = join(dir, 'modules');
  const s = await standalone(t, 'rsockd', dir, extra, {
    nodeArgs: [`--import=${recorder}`],
    env: { SOCKSLAB_RECORD_MODULES: list },
  });
  const r = await socks4({
    proxy: { host: s.host, port: s.port },
    dst: echo.host,
    port: echo.port,
    user: 'x',
  });
  r.socket.destroy();
  t.is(r.reply?.code, 90, 'the server relays a request');
  s.proc.kill('SIGTERM');
  await s.proc;
  const urls = (await readFile(list, 'utf8')).split('\n');
  return (name: string) => urls.some((u) => u.includes(`/node_modules/${name}/`));
}

test('a server without --metrics or frozen files loads neither prom-client nor zod', async (t) => {
  const loaded = await loadedBy(t, {}, []);
  t.false(loaded('prom-client'));
  t.false(loaded('zod'));
});

test('a server with --metrics loads prom-client, and one with a frozen file loads zod to check it', async (t) => {
  const withMetrics = await loadedBy(t, {}, ['--metrics', '127.0.0.1:0']);
  t.true(withMetrics('prom-client'));
  t.false(withMetrics('zod'));
  const withFrozen = await loadedBy(t, { fc: true }, []);
  t.true(withFrozen('zod'));
  t.false(withFrozen('prom-client'));
});
