import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { projectRoot } from '../../helpers/seed-topology.ts';

/** `sockslab check` end to end: no runtime, lint + predictions, exit 0 / 1 / 2. */
const cli = join(projectRoot, 'src/cli/sockslab.ts');
const sockslab = (args: readonly string[]) =>
  execa('node', ['--import=tsx', cli, ...args], {
    cwd: projectRoot,
    reject: false,
    env: { CI: '1' },
    timeout: 60_000,
  });

test('check on the seed cascade lints, predicts every case as its scenario expects, and exits 0', async (t) => {
  const r = await sockslab(['check', 'topologies/seed-cascade.yaml']);
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /^warning: A sockd\.conf:4: .*g\.7.* \[identd-behind-rsockd\]$/m);
  t.regex(r.stdout, /^ok {3}x reaches z's echo port through B and A: 90 \(granted\), C > B > A > z$/m);
  t.regex(r.stdout, /0 lint errors, 1 warning; (\d+) of \1 cases predicted as expected/);
  t.regex(
    r.stdout,
    /^rule coverage \(predicted, \d+ cases\): 7 of 8 rule lines reached, 6 decided, 1 never reached$/m,
  );
  t.regex(r.stdout, /^ +B total +4 +3 +2 +1$/m);
  t.regex(r.stdout, /^ {2}never reached:\n {4}B sockd\.conf:3 {2}deny 0\.0\.0\.0 0\.0\.0\.0$/m);
});

test('check --json and check -v give the coverage of every rule line', async (t) => {
  const json = await sockslab(['check', 'topologies/seed-cascade.yaml', '--json']);
  t.is(json.exitCode, 0, json.stderr);
  const out = JSON.parse(json.stdout);
  t.is(out.coverage.basis, 'predicted');
  const a = out.coverage.hosts.find((h: { host: string }) => h.host === 'A');
  t.deepEqual(a.totals, { rules: 3, reached: 3, decided: 3, never: 0 });
  t.is(a.files[0].origin, 'topologies/seed-cascade.yaml:64');
  const verbose = await sockslab(['check', 'topologies/seed-cascade.yaml', '-v']);
  t.regex(verbose.stdout, /^ {4}A sockd\.conf:4 {2}2 \/ 1 {2}permit \*=\/etc\/sockd\/dept\.users /m);
});

test('check exits 1 when a scenario expects what the configs cannot give, with the reasoning', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sockslab-check-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    join(dir, 'wrong.yaml'),
    `# yaml-language-server: $schema=scenario.schema.json
topology: seed-cascade
cases:
  - name: http through the cascade
    from: C
    user: x
    connect: z:80
    expect: { reply: granted }
`,
  );
  const r = await sockslab(['check', 'topologies/seed-cascade.yaml', join(dir, 'wrong.yaml'), '--json']);
  t.is(r.exitCode, 1, r.stderr);
  const out = JSON.parse(r.stdout);
  t.deepEqual(out.cases[0].contradictions, [
    { what: 'reply', expected: '90 (granted)', actual: '91 (rejected)' },
  ]);
  t.true(
    out.cases[0].predicted.reasoning.includes(
      'A: permit sockd.conf:4; identd on B says nobody (mismatch) → 93',
    ),
  );
});

test('a scenario user who is not an account of the origin host makes check and run exit 2 at the user key', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sockslab-check-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    join(dir, 'stranger.yaml'),
    `# yaml-language-server: $schema=scenario.schema.json
topology: seed-cascade
cases:
  - name: a stranger on C
    from: C
    user: mallory
    connect: z:7
    expect: { reply: rejected }
`,
  );
  for (const command of ['check', 'run']) {
    const extra = command === 'run' ? ['--report-dir', join(dir, 'reports')] : [];
    const r = await sockslab([command, 'topologies/seed-cascade.yaml', join(dir, 'stranger.yaml'), ...extra]);
    t.is(r.exitCode, 2, `${command}: ${r.stdout}${r.stderr}`);
    t.regex(
      r.stderr,
      /stranger\.yaml: cases\[0\]\.user \(6:11\): user "mallory" is not an account of host C; its users: x, root, nobody/,
      command,
    );
  }
});
