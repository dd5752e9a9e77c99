import { cp, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { validateJunit } from '../../helpers/junit-validator.ts';
import { projectRoot } from '../../helpers/seed-topology.ts';

/**
 * End to end: the real `sockslab run` CLI on the reference seed cascade (local runtime), in a
 * scratch report directory. Exit codes, report files, determinism and a broken-config finding.
 */

const cli = join(projectRoot, 'src/cli/sockslab.ts');

async function sockslab(args: readonly string[], cwd = projectRoot) {
  return execa('node', ['--import=tsx', cli, ...args], {
    cwd,
    reject: false,
    env: { CI: '1' },
    timeout: 90_000,
  });
}

async function scratch(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sockslab-run-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('run on the seed cascade passes, prints the table and writes the four reports behind reports/latest', async (t) => {
  const reports = await scratch(t);
  const r = await sockslab(['run', 'topologies/seed-cascade.yaml', '--report-dir', reports]);
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /^PASS {2}x reaches z's echo port through B and A +90 \(granted\) +C > B > A > z/m);
  t.regex(r.stdout, /\d+ passed, 0 failed/);
  const latest = join(reports, 'latest');
  t.regex(await readlink(latest), /^\d{8}-\d{6}Z-[0-9a-f]+$/);
  const report = JSON.parse(await readFile(join(latest, 'report.json'), 'utf8'));
  t.is(report.version, 1);
  t.true(report.cases.every((c: { verdict: string }) => c.verdict === 'pass'));
  t.deepEqual(validateJunit(await readFile(join(latest, 'junit.xml'), 'utf8')), []);
  t.regex(await readFile(join(latest, 'summary.md'), 'utf8'), /## identd attribution/);
  const html = await readFile(join(latest, 'index.html'), 'utf8');
  t.regex(html, /<svg/);
  t.regex(await readFile(join(latest, 'topology.svg'), 'utf8'), /<svg/);
  // Rule coverage of the observed traces: terminal, report.json, summary.md and index.html.
  t.regex(
    r.stdout,
    /^rule coverage \(observed, \d+ cases\): 7 of 8 rule lines reached, 6 decided, 1 never reached$/m,
  );
  t.regex(r.stdout, /^ {4}B sockd\.conf:3 {2}deny 0\.0\.0\.0 0\.0\.0\.0$/m);
  t.deepEqual(report.coverage.never, [
    { host: 'B', file: 'sockd.conf', usedBy: 'server', line: 3, text: 'deny 0.0.0.0 0.0.0.0' },
  ]);
  t.regex(
    await readFile(join(latest, 'summary.md'), 'utf8'),
    /^- `B sockd\.conf:3` `deny 0\.0\.0\.0 0\.0\.0\.0`$/m,
  );
  t.regex(html, /<tr class="never"><td class="n">3<\/td>/);
});

test('a deliberately broken config in a copy of the seed cascade exits 1 naming the hop, the file and the line', async (t) => {
  const dir = await scratch(t);
  const yaml = await readFile(join(projectRoot, 'topologies/seed-cascade.yaml'), 'utf8');
  // A's echo-port rule now refuses: every case through A to port 7 must be reported at A, sockd.conf:2.
  const broken = yaml.replace(/permit \?=n /, 'deny ');
  t.not(broken, yaml);
  await writeFile(join(dir, 'seed-cascade.yaml'), broken);
  await cp(join(projectRoot, 'scenarios/seed-cascade.yaml'), join(dir, 'scenario.yaml'));
  const r = await sockslab([
    'run',
    join(dir, 'seed-cascade.yaml'),
    join(dir, 'scenario.yaml'),
    '--report-dir',
    join(dir, 'reports'),
  ]);
  t.is(r.exitCode, 1, r.stderr);
  t.regex(r.stdout, /^FAIL {2}x reaches z's echo port through B and A/m);
  t.regex(
    r.stdout,
    /rule at A:\n\s+expected: permit by sockd\.conf:2\n\s+actual: +deny by sockd\.conf:2 \(rule\)/,
  );
});

test('invalid input exits 2 with the file, YAML path and line:col', async (t) => {
  const dir = await scratch(t);
  await writeFile(
    join(dir, 'bad.yaml'),
    '# yaml-language-server: $schema=scenario.schema.json\ntopology: seed-cascade\ncases:\n  - name: n\n    from: C\n    user: x\n    conect: z:7\n    expect: {}\n',
  );
  const r = await sockslab([
    'run',
    'topologies/seed-cascade.yaml',
    join(dir, 'bad.yaml'),
    '--report-dir',
    join(dir, 'r'),
  ]);
  t.is(r.exitCode, 2);
  t.regex(r.stderr, /bad\.yaml: cases\[0\]\.conect \(7:5\): unknown key "conect"/);
});

test('an unknown runtime exits 2 and lists the supported ones', async (t) => {
  const dir = await scratch(t);
  const r = await sockslab([
    'run',
    'topologies/seed-cascade.yaml',
    '--runtime',
    'vmware',
    '--report-dir',
    dir,
  ]);
  t.is(r.exitCode, 2);
  t.regex(r.stderr, /unknown runtime `vmware`.*supported: local/);
});

test('a server that closes without replying (SOCKS 5 to rsockd without --socks5) is a hop of the trace, with what it logged', async (t) => {
  const dir = await scratch(t);
  await writeFile(
    join(dir, 'socks5.yaml'),
    `# yaml-language-server: $schema=scenario.schema.json
topology: seed-cascade
cases:
  - name: SOCKS 5 to B, which only speaks SOCKS 4
    from: C
    user: x
    protocol: socks5
    connect: z:7
    expect: { reply: none, path: [C, B] }
`,
  );
  const r = await sockslab([
    'run',
    'topologies/seed-cascade.yaml',
    join(dir, 'socks5.yaml'),
    '--report-dir',
    join(dir, 'reports'),
  ]);
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  const report = JSON.parse(await readFile(join(dir, 'reports', 'latest', 'report.json'), 'utf8'));
  const [c] = report.cases;
  t.deepEqual(c.observed.path, ['C', 'B']);
  t.is(c.observed.reply, null);
  t.true(c.prediction.agreed, JSON.stringify(c.prediction.differences));
  const [hop] = c.trace.hops;
  t.is(hop.host, 'B');
  t.is(hop.reply, null);
  t.is(hop.decision.reason, 'closed-without-reply: E_S4_VERSION');
  t.true(
    hop.logs.some((l: string) => /^error -- wrong version \(0x 5\) from host C\.$/.test(l)),
    JSON.stringify(hop.logs),
  );
});
