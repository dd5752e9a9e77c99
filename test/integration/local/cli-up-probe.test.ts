import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { execa } from 'execa';

/**
 * End to end through the real CLI: `sockslab up` in the background, `sockslab probe` joining it
 * (the done criterion of the seed cascade), then Ctrl-C (SIGINT) tears the lab down. The up
 * process is killed by its pid in a finally, whatever happens.
 */

const root = path.resolve(import.meta.dirname, '../../..');
const cli = path.join(root, 'src/cli/sockslab.ts');
const seed = 'topologies/seed-cascade.yaml';

function sockslab(args: readonly string[]) {
  return execa('node', ['--import=tsx', cli, ...args], { cwd: root, reject: false, timeout: 60_000 });
}

async function waitFor(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('up prints the host table, probe joins it and shows x travel C→B→A→z with identd at B, Ctrl-C tears down', async (t) => {
  const stateDir = await mkdtemp(path.join(tmpdir(), 'sockslab-state-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const up = execa('node', ['--import=tsx', cli, 'up', seed, '--events', '--state-dir', stateDir], {
    cwd: root,
    reject: false,
    buffer: true,
  });
  let out = '';
  up.stdout?.on('data', (d: Buffer) => {
    out += String(d);
  });
  try {
    await waitFor(() => out.includes('Ctrl-C to tear it down'), 'sockslab up');
    t.regex(out, /^HOST +ROLE +NETWORK +ADDRESS +SERVICES/m);
    t.regex(out, /^B +rsockd +lan +10\.1\.0\.1 +rsockd 1080 → 127\.\d+\.\d+\.\d+:\d+, identd 113 → 127\./m);
    t.regex(out, /^ +dmz +10\.2\.0\.2 /m);
    const state = JSON.parse(await readFile(path.join(stateDir, 'seed-cascade.json'), 'utf8')) as {
      pid: number;
      url: string;
    };
    t.is(state.pid, up.pid ?? -1);
    t.regex(state.url, /^http:\/\/127\.0\.0\.1:\d+$/);

    const probe = await sockslab([
      'probe',
      seed,
      '--from',
      'C',
      '--user',
      'x',
      '--connect',
      'z:7',
      '--send',
      'hello',
      '--json',
      '--state-dir',
      stateDir,
    ]);
    t.is(probe.exitCode, 0, probe.stderr);
    const result = JSON.parse(probe.stdout) as {
      outcome: { reply: number; received: string };
      trace: { path: string[]; hops: { host: string; identd?: { queried: string; user: string | null } }[] };
    };
    t.is(result.outcome.reply, 90);
    t.is(result.outcome.received, 'hello');
    t.deepEqual(result.trace.path, ['C', 'B', 'A', 'z']);
    t.is(result.trace.hops[0]?.host, 'B');
    t.is(result.trace.hops[0]?.identd?.queried, 'C');
    t.is(result.trace.hops[0]?.identd?.user, 'x');

    // A's identd check (http line) hears B's rsockd owner.
    const http = await sockslab([
      'probe',
      seed,
      '--from',
      'C',
      '--user',
      'x',
      '--via',
      'B:1080',
      '--connect',
      'z:80',
      '--state-dir',
      stateDir,
    ]);
    t.is(http.exitCode, 1);
    t.regex(http.stdout, /in lab seed-cascade \(pid \d+\)/);
    t.regex(
      http.stdout,
      /A \(sockd\) from B as x; deny by sockd\.conf:4 \[identd-mismatch\]; identd B: nobody \(mismatch\)/,
    );
    await waitFor(
      () => out.includes('*Alert*: real user is nobody, not x'),
      'the streamed alert event',
      10_000,
    );

    up.kill('SIGINT');
    const ended = await up;
    t.is(ended.exitCode, 0);
    t.regex(out, /seed-cascade is down/);
    await t.throwsAsync(readFile(path.join(stateDir, 'seed-cascade.json')), { code: 'ENOENT' });
  } finally {
    // A running child's exitCode is null (never undefined): kill it if the test ended early.
    if (up.pid !== undefined && up.exitCode === null) {
      try {
        process.kill(up.pid, 'SIGKILL');
      } catch {}
    }
  }
});

test('probe without a running lab brings up a one-shot lab', async (t) => {
  const stateDir = await mkdtemp(path.join(tmpdir(), 'sockslab-state-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const r = await sockslab([
    'probe',
    seed,
    '--from',
    'C',
    '--user',
    'x',
    '--socks4a',
    '--connect',
    'z:7',
    '--send',
    'one',
    '--state-dir',
    stateDir,
  ]);
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout, /in one-shot lab/);
  t.regex(r.stdout, /received: "one"/);
  t.regex(r.stdout, /path: C → B → A → z/);
});

test('probe flag errors and topology errors exit 2 with a clear message', async (t) => {
  const both = await sockslab([
    'probe',
    seed,
    '--from',
    'C',
    '--user',
    'x',
    '--connect',
    'z:7',
    '--bind',
    'z:7',
  ]);
  t.is(both.exitCode, 2);
  t.regex(both.stderr, /give exactly one of --connect host:port or --bind host:port/);
  const dir = await mkdtemp(path.join(tmpdir(), 'sockslab-bad-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bad = path.join(dir, 'bad.yaml');
  await writeFile(bad, 'networks: {}\nhosts:\n  C: { role: clinet }\n');
  const r = await sockslab(['up', bad]);
  t.is(r.exitCode, 2);
  t.regex(r.stderr, /bad\.yaml:3:14: hosts\.C\.role: unknown role `clinet`; did you mean `client`\?/);
});

test('up with a misspelt runtime exits 2 listing the supported runtimes', async (t) => {
  const r = await sockslab(['up', seed, '--runtime', 'dokcer']);
  t.is(r.exitCode, 2);
  t.regex(r.stderr, /unknown runtime `dokcer` \(did you mean `docker`\?\); supported: local, /);
});
