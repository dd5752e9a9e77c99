import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { projectRoot } from '../../helpers/seed-topology.ts';

/**
 * `sockslab freeze` end to end: the frozen file is the same byte for byte on every run, replays
 * green on the local runtime (real loopback sockets), and against a changed config fails in
 * exactly the rows whose classes `sockslab diff` says changed.
 */
const cli = join(projectRoot, 'src/cli/sockslab.ts');
const sockslab = (args: readonly string[]) =>
  execa('node', ['--import=tsx', cli, ...args], {
    cwd: projectRoot,
    reject: false,
    env: { CI: '1' },
    timeout: 900_000,
  });
const seed = 'topologies/seed-cascade.yaml';

interface ReportCase {
  readonly name: string;
  readonly verdict: 'pass' | 'fail';
}

async function frozenFile(t: import('ava').ExecutionContext): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'sockslab-freeze-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'seed-cascade.frozen.yaml');
  const r = await sockslab(['freeze', seed, '-o', file]);
  t.is(r.exitCode, 0, r.stderr);
  return { dir, file };
}

async function run(
  topology: string,
  file: string,
  dir: string,
): Promise<{ exitCode: number; cases: ReportCase[] }> {
  const r = await sockslab([
    'run',
    topology,
    file,
    '--json',
    '--no-predict',
    '--report-dir',
    join(dir, 'reports'),
  ]);
  const report = JSON.parse(r.stdout) as { cases: ReportCase[] };
  return { exitCode: r.exitCode ?? -1, cases: report.cases };
}

test('freeze writes the same file byte for byte on every run, one table row per class', async (t) => {
  const { file } = await frozenFile(t);
  const again = await sockslab(['freeze', seed]);
  t.is(again.exitCode, 0);
  const written = await readFile(file, 'utf8');
  t.is(`${again.stdout}\n`, written, 'execa strips the final newline of stdout');
  t.is((written.match(/^ {6}- \{ user: /gm) ?? []).length, 472);
  t.regex(written, /^ {2}- name: C socks4 classes$/m);
  t.regex(written, /^ {6}# x → z 198\.51\.100\.10, port 7: granted$/m);
  t.regex(
    written,
    /^ {6}- \{ user: x, target: 198\.51\.100\.10, port: 7, reply: granted, path: \[C, B, A, z\], reached: true, clientRoute: \{ action: sockd, line: 1 \},$/m,
  );
  t.regex(written, /^ {6}- \{ user: x, claim: root, target: /m);
});

test('the frozen file of a design passes on the local runtime', async (t) => {
  const { dir, file } = await frozenFile(t);
  const r = await run(seed, file, dir);
  const failed = r.cases.filter((c) => c.verdict === 'fail').map((c) => c.name);
  t.deepEqual(failed, []);
  t.is(r.cases.length, 472);
  t.is(r.exitCode, 0);
});

test('against a changed config the frozen file fails in exactly the rows of the classes diff reports', async (t) => {
  const { dir, file } = await frozenFile(t);
  const changed = 'test/fixtures/diff/identd-flag.yaml';
  const diff = JSON.parse((await sockslab(['diff', seed, changed, '--json'])).stdout) as {
    changes: {
      witness: {
        from: string;
        protocol: string;
        user: string;
        claim?: string;
        target: { host: string; port: number };
      };
    }[];
  };
  const expected = diff.changes.map(
    ({ witness: w }) =>
      `${w.from} ${w.protocol} classes [user=${w.user}${w.claim ? `, claim=${w.claim}` : ''}, target=${w.target.host}, port=${w.target.port}]`,
  );
  t.is(expected.length, 4);
  const r = await run(changed, file, dir);
  t.is(r.exitCode, 1);
  t.deepEqual(
    r.cases
      .filter((c) => c.verdict === 'fail')
      .map((c) => c.name)
      .sort(),
    expected.sort(),
  );
});
