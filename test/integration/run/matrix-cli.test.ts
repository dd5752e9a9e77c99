import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { projectRoot } from '../../helpers/seed-topology.ts';

/** `sockslab matrix` end to end: the real CLI on the reference topologies and on broken input. */
const cli = join(projectRoot, 'src/cli/sockslab.ts');
const sockslab = (args: readonly string[]) =>
  execa('node', ['--import=tsx', cli, ...args], {
    cwd: projectRoot,
    reject: false,
    env: { CI: '1' },
    timeout: 120_000,
  });

test('matrix on seed-cascade says how many classes it enumerated and groups them by origin and outcome', async (t) => {
  const r = await sockslab(['matrix', 'topologies/seed-cascade.yaml']);
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout, /^sockslab matrix — seed-cascade: 472 classes enumerated/);
  t.regex(r.stdout, /grouped: 472 classes are more than 200 rows/);
  t.regex(r.stdout, /^C — 472 classes: .*granted 8/m);
  t.regex(r.stdout, /^ {2}2 +90 +granted +C > B > A > z +B sockd\.conf:2, A sockd\.conf:2/m);
});

test('filters narrow the table to whole classes, every class on its own line', async (t) => {
  const r = await sockslab(['matrix', 'topologies/failover.yaml', '--user', 'x', '--to', 'z', '--port', '7']);
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout, /classes enumerated .*, \d+ selected by the filter/);
  t.notRegex(r.stdout, /grouped:/);
  t.regex(r.stdout, /socks4 +x +z \S+ +7 +90 +granted +C > R > fw2 > z .* R: fw1 ✗, fw1 ✗, fw2 ✓/);
});

test('--csv writes one line per class and the count on stderr; --json the whole matrix', async (t) => {
  const csv = await sockslab(['matrix', 'topologies/multihomed-bind.yaml', '--csv']);
  t.is(csv.exitCode, 0, csv.stderr);
  const lines = csv.stdout.trimEnd().split(/\r\n/);
  const count = Number(/(\d+) classes enumerated, (\d+) written/.exec(csv.stderr)?.[2]);
  t.is(lines.length, count + 1);
  const json = await sockslab(['matrix', 'topologies/multihomed-bind.yaml', '--json', '--from', 'C']);
  t.is(json.exitCode, 0, json.stderr);
  const m = JSON.parse(json.stdout) as { classes: number; rows: { verdict: string }[] };
  t.is(m.rows.length, count);
  t.true(m.rows.some((r) => r.verdict === 'granted'));
});

test('invalid input exits 2 with a located error: a broken config, an unknown origin, a bad port', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sockslab-matrix-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    join(dir, 'broken.yaml'),
    `name: broken
networks:
  lan: { subnet: 10.1.0.0/24 }
hosts:
  C:
    role: client
    addresses: [lan]
    socks.conf: |
      sockd @=10.1.0.1 0.0.0.0 0.0.0.0
  B:
    role: sockd
    addresses: [lan]
    server:
      sockd.conf: |
        permit 10.1.0.0 255.255.255.0
        permit 10.1.0.0 255.255.255.0 0.0.0.0 0.0.0.0 eq nosuchservice
`,
  );
  const broken = await sockslab(['matrix', join(dir, 'broken.yaml')]);
  t.is(broken.exitCode, 2);
  t.regex(broken.stderr, /broken\.yaml:\d+:\d+/);
  t.regex(broken.stderr, /nosuchservice/);
  const origin = await sockslab(['matrix', 'topologies/seed-cascade.yaml', '--from', 'Q']);
  t.is(origin.exitCode, 2);
  t.regex(origin.stderr, /unknown origin host `Q`; hosts: C, B, A, z/);
  const port = await sockslab(['matrix', 'topologies/seed-cascade.yaml', '--port', '70000']);
  t.is(port.exitCode, 2);
  t.regex(port.stderr, /--port "70000" is no port number/);
});

test('sockslab run writes the matrix into report.json and its heat map into index.html', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sockslab-matrix-run-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const r = await sockslab(['run', 'topologies/failover.yaml', '--report-dir', dir]);
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  const report = JSON.parse(await readFile(join(dir, 'latest', 'report.json'), 'utf8')) as {
    version: number;
    matrix: {
      classes: number;
      evaluated: number;
      rows: unknown[];
      cells: { origin: string; service: string }[];
    };
  };
  t.is(report.version, 1);
  t.true(report.matrix.classes > 0);
  t.is(report.matrix.rows.length, report.matrix.classes);
  t.true(report.matrix.cells.some((c) => c.origin === 'C' && c.service === 'z:7'));
  const html = await readFile(join(dir, 'latest', 'index.html'), 'utf8');
  t.regex(
    html,
    new RegExp(`<h2>Request classes</h2>\\n<p class="muted">${report.matrix.classes} exact request classes`),
  );
  t.regex(html, /title="granted ×\d+: C &gt; R &gt; fw2 &gt; z · R sockd\.conf:1, fw2 sockd\.conf:1/);
});
