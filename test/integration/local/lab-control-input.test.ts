import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { execa } from 'execa';

/**
 * `sockslab up`'s control endpoint against a token holder who sends garbage: every bad request is
 * answered with a 4xx status and the lab goes on serving probes. The up process is killed by its
 * pid whatever happens.
 */

const root = path.resolve(import.meta.dirname, '../../..');
const cli = path.join(root, 'src/cli/sockslab.ts');
const seed = 'topologies/seed-cascade.yaml';

function post(
  url: string,
  token: string,
  body: string | Buffer,
): Promise<{ status: number; body: { error?: string; code?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL('/probe', url),
      { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString() || '{}'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('the control endpoint answers malformed or oversized probe requests with 4xx and the lab serves on', async (t) => {
  t.timeout(120_000);
  const stateDir = await mkdtemp(path.join(tmpdir(), 'sockslab-state-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const up = execa('node', ['--import=tsx', cli, 'up', seed, '--state-dir', stateDir], {
    cwd: root,
    reject: false,
  });
  t.teardown(() => {
    if (up.pid !== undefined && up.exitCode === null) process.kill(up.pid, 'SIGKILL');
  });
  let out = '';
  up.stdout?.on('data', (d: Buffer) => {
    out += String(d);
  });
  const until = Date.now() + 60_000;
  while (!out.includes('Ctrl-C to tear it down')) {
    if (Date.now() > until || up.exitCode !== null) throw new Error(`sockslab up did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const stateFile = path.join(stateDir, 'seed-cascade.json');
  const state = JSON.parse(await readFile(stateFile, 'utf8')) as { url: string; token: string };

  const cases = [
    { body: '{"from": "C", ', status: 400, code: 'E_LAB_CONTROL_JSON' },
    { body: 'null', status: 400, code: 'E_LAB_CONTROL_REQUEST' },
    { body: '[1,2]', status: 400, code: 'E_LAB_CONTROL_REQUEST' },
    {
      body: '{"from":"C","user":"x","protocol":"socks4","command":"connect"}',
      status: 400,
      code: 'E_LAB_CONTROL_REQUEST',
    },
    { body: Buffer.alloc(100_000, 0x20), status: 413, code: 'E_LAB_CONTROL_SIZE' },
  ];
  for (const c of cases) {
    const r = await post(state.url, state.token, c.body);
    t.is(r.status, c.status, `${String(c.body).slice(0, 40)}: ${JSON.stringify(r.body)}`);
    t.is(r.body.code, c.code);
  }
  const missingTarget = await post(
    state.url,
    state.token,
    '{"from":"C","user":"x","protocol":"socks4","command":"connect"}',
  );
  t.regex(missingTarget.body.error ?? '', /target/, 'the error names the field');

  t.is(up.exitCode, null, 'sockslab up is still running');
  const good = await post(
    state.url,
    state.token,
    JSON.stringify({
      from: 'C',
      user: 'x',
      protocol: 'socks4',
      command: 'connect',
      target: { host: 'z', port: 7 },
      send: 'still here',
    }),
  );
  t.is(good.status, 200);
  t.is((good.body as { outcome?: { reply: number; received: string } }).outcome?.received, 'still here');

  up.kill('SIGINT');
  t.is((await up).exitCode, 0);
  await t.throwsAsync(readFile(stateFile), { code: 'ENOENT' });
});
