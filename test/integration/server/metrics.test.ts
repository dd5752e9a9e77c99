import { rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { join } from 'node:path';
import test from 'ava';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { echoThrough, freshAddress, randomPort, socks4, startEcho, startServer } from './helpers.ts';
import { standalone, tempDir } from './processes.ts';

// `--metrics ADDR:PORT`: real SOCKS sessions through a real rsockd, then a scrape over HTTP,
// parsed as Prometheus text.

function httpGet(host: string, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host, port, path, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

async function untilAnswers(host: string, port: number, path: string) {
  for (let i = 0; ; i++) {
    try {
      return await httpGet(host, port, path);
    } catch (err) {
      if (i >= 300) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The value of one sample: the family by name, the sample whose labels include `labels`. */
function sample(families: readonly ParsedFamily[], name: string, labels: Record<string, string> = {}) {
  const family = families.find((f) => f.name === name);
  const found = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return found;
}

function value(families: readonly ParsedFamily[], name: string, labels: Record<string, string> = {}): number {
  const s = sample(families, name, labels);
  return s?.value === undefined ? Number.NaN : Number(s.value);
}

async function scrape(host: string, port: number): Promise<ParsedFamily[]> {
  const r = await httpGet(host, port, '/metrics');
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${r.body}`);
  return parsePrometheusTextFormat(r.body);
}

test('--metrics counts sessions, replies, decisions by line, identd, upstream failovers, bytes, handshakes and reloads', async (t) => {
  t.timeout(120_000);
  const dir = await tempDir(t);
  const conf = join(dir, 'sockd.conf');
  await writeFile(conf, 'deny ALL eq 7\npermit ALL\n');
  const direct = await startEcho(t);
  const far = await startEcho(t);
  // Upstreams share --upstream-port: `dead` has nothing listening, `live` is a sockd.
  const upstreamPort = randomPort();
  const dead = freshAddress();
  const live = await startServer(t, { sockdConf: 'permit ALL\n', port: upstreamPort });
  await writeFile(
    join(dir, 'socks.conf'),
    `direct ${direct.host} 255.255.255.255\nsockd @=${dead},${live.host} ALL\n`,
  );
  const metricsHost = freshAddress();
  const metricsPort = randomPort();
  // -i with nobody answering identd: lenient, so the requests go on and identd says unavailable.
  const s = await standalone(t, 'rsockd', dir, [
    '-i',
    '--identd-port',
    String(randomPort()),
    '--upstream-port',
    String(upstreamPort),
    '--metrics',
    `${metricsHost}:${metricsPort}`,
  ]);
  const proxy = { host: s.host, port: s.port };

  // The endpoint starts right after the SOCKS listener: the first tries may find nothing yet.
  const health = await untilAnswers(metricsHost, metricsPort, '/healthz');
  t.deepEqual(health, { status: 200, body: 'ok\n' });

  const a = await socks4({ proxy, dst: direct.host, port: direct.port, user: 'ann', replyTimeoutMs: 20_000 });
  t.is(a.reply?.code, 90);
  t.deepEqual(await echoThrough(a.socket, Buffer.from('hello')), Buffer.from('hello'));
  const b = await socks4({ proxy, dst: far.host, port: far.port, user: 'bob', replyTimeoutMs: 20_000 });
  t.is(b.reply?.code, 90);
  t.deepEqual(await echoThrough(b.socket, Buffer.from('abc')), Buffer.from('abc'));
  const c = await socks4({ proxy, dst: direct.host, port: 7, user: 'cat', replyTimeoutMs: 20_000 });
  t.is(c.reply?.code, 91);
  for (const r of [a, b, c]) r.socket.end();

  let m = await scrape(metricsHost, metricsPort);
  for (let i = 0; i < 100 && value(m, 'rsockd_sessions_active', { command: 'connect' }) !== 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    m = await scrape(metricsHost, metricsPort);
  }
  t.is(value(m, 'rsockd_sessions_active', { command: 'connect', protocol: 'socks4' }), 0, 'all closed');
  t.is(value(m, 'rsockd_sessions_total', { command: 'connect', protocol: 'socks4' }), 3);
  t.is(value(m, 'rsockd_replies_total', { version: '4', code: '90' }), 2);
  t.is(value(m, 'rsockd_replies_total', { version: '4', code: '91' }), 1);
  t.is(value(m, 'rsockd_decisions_total', { action: 'permit', reason: 'rule', file: conf, line: '2' }), 2);
  t.is(value(m, 'rsockd_decisions_total', { action: 'deny', reason: 'rule', file: conf, line: '1' }), 1);
  // identd is asked only when a rule permits (the deny on line 1 needs no user).
  t.is(value(m, 'rsockd_identd_total', { verdict: 'unavailable' }), 2);
  t.is(value(m, 'rsockd_upstream_attempts_total', { server: dead, result: 'failed' }), 1);
  t.is(value(m, 'rsockd_upstream_attempts_total', { server: live.host, result: 'ok' }), 1);
  t.is(value(m, 'rsockd_upstream_failovers_total', { server: dead }), 1);
  t.is(value(m, 'rsockd_bytes_total', { direction: 'from_client' }), 8);
  t.is(value(m, 'rsockd_bytes_total', { direction: 'from_remote' }), 8);
  const handshakes = sample(m, 'rsockd_handshake_seconds');
  t.is(Number(handshakes?.count), 3);
  t.true(Number(handshakes?.sum) > 0);
  t.is(handshakes?.buckets?.['+Inf'], '3');
  t.is(value(m, 'rsockd_connections_active'), 0);
  t.is(value(m, 'rsockd_reloads_total', { result: 'ok' }), 0);

  /** Scrape until `name{labels}` reads `want` (reloads are counted once the files are read). */
  const until = async (name: string, labels: Record<string, string>, want: number) => {
    m = await scrape(metricsHost, metricsPort);
    for (let i = 0; i < 100 && value(m, name, labels) !== want; i++) {
      await new Promise((r) => setTimeout(r, 100));
      m = await scrape(metricsHost, metricsPort);
    }
    return value(m, name, labels);
  };
  process.kill(s.proc.pid!, 'SIGHUP');
  t.is(await until('rsockd_reloads_total', { result: 'ok' }, 1), 1, 'a reload of good files');
  await rm(conf);
  process.kill(s.proc.pid!, 'SIGHUP');
  t.is(
    await until('rsockd_reloads_total', { result: 'kept-previous' }, 1),
    1,
    'a reload with sockd.conf gone',
  );
  t.is(value(m, 'rsockd_reloads_total', { result: 'ok' }), 1);

  process.kill(s.proc.pid!, 'SIGTERM');
  t.is((await s.proc).exitCode, 0);
});

test('--metrics with --workers 2: the primary serves the sum of its workers', async (t) => {
  t.timeout(180_000); // three tsx start-ups
  const dir = await tempDir(t);
  await writeFile(join(dir, 'sockd.conf'), 'permit ALL\n');
  const echo = await startEcho(t);
  const metricsHost = freshAddress();
  const metricsPort = randomPort();
  const s = await standalone(t, 'sockd', dir, [
    '--workers',
    '2',
    '--metrics',
    `${metricsHost}:${metricsPort}`,
  ]);
  await untilAnswers(metricsHost, metricsPort, '/healthz');
  const proxy = { host: s.host, port: s.port };
  const n = 6;
  for (let i = 0; i < n; i++) {
    const r = await socks4({ proxy, dst: echo.host, port: echo.port, user: `w${i}`, replyTimeoutMs: 30_000 });
    t.is(r.reply?.code, 90);
    r.socket.destroy();
  }
  let m = await scrape(metricsHost, metricsPort);
  for (let i = 0; i < 100 && value(m, 'rsockd_sessions_total', { command: 'connect' }) !== n; i++) {
    await new Promise((r) => setTimeout(r, 100));
    m = await scrape(metricsHost, metricsPort);
  }
  t.is(value(m, 'rsockd_sessions_total', { command: 'connect', protocol: 'socks4' }), n);
  t.is(value(m, 'rsockd_replies_total', { version: '4', code: '90' }), n);
  t.deepEqual(await httpGet(metricsHost, metricsPort, '/healthz'), { status: 200, body: 'ok\n' });
  process.kill(s.proc.pid!, 'SIGTERM');
  t.is((await s.proc).exitCode, 0);
});
