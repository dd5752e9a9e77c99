import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { renderJson } from '../../../src/report/json.ts';
import { normaliseReport, normaliseReportText } from '../../../src/report/normalise.ts';
import { xmlEscape } from '../../../src/report/xml.ts';
import { writeGeneratedSuite } from '../../helpers/generated-suite.ts';
import { validateJunit } from '../../helpers/junit-validator.ts';
import { projectRoot } from '../../helpers/seed-topology.ts';

/**
 * Issue 18's done-when: a generated suite of 203 cases (200 request rows and 3 fault cases in
 * between) on the local runtime, once unsharded and one case at a time, and as 4 shards each
 * with `--jobs 3`; `sockslab report merge` of the shards gives the unsharded run's report.json,
 * junit.xml, summary.md and index.html (normalised: ids, times, durations, ephemeral ports), and
 * the same case diagrams. Then the merge's refusals: a missing, doubled or foreign shard.
 */

const cli = join(projectRoot, 'src/cli/sockslab.ts');

function sockslab(args: readonly string[], cwd: string) {
  // The scratch directory has no node_modules: tsx is named by its resolved place.
  return execa('node', [`--import=${import.meta.resolve('tsx')}`, cli, ...args], {
    cwd,
    reject: false,
    env: { CI: '1' },
    timeout: 300_000,
  });
}

interface RunDir {
  readonly dir: string;
  readonly id: string;
}

async function runDir(dir: string): Promise<RunDir> {
  const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as { run: { id: string } };
  return { dir, id: report.run.id };
}

const normalisedJson = async (d: RunDir) =>
  renderJson(normaliseReport(JSON.parse(await readFile(join(d.dir, 'report.json'), 'utf8'))));

test('a 203-case suite run as 4 shards with --jobs and merged gives the report of one serial run', async (t) => {
  t.timeout(900_000);
  const work = await mkdtemp(join(tmpdir(), 'sockslab-shards-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const suite = await writeGeneratedSuite(join(work, 'suite'), 200);
  t.is(suite.cases, 203);
  const topology = 'suite/generated.yaml';

  const whole = await sockslab(['run', topology, '--report-dir', 'whole', '--jobs', '1'], work);
  t.is(whole.exitCode, 0, whole.stdout.slice(-3000) + whole.stderr);
  const shards = [];
  for (let k = 1; k <= 4; k++) {
    const r = await sockslab(
      ['run', topology, '--report-dir', `shard${k}`, '--shard', `${k}/4`, '--jobs', '3'],
      work,
    );
    t.is(r.exitCode, 0, r.stdout.slice(-3000) + r.stderr);
    const shard = JSON.parse(await readFile(join(work, `shard${k}`, 'latest', 'report.json'), 'utf8'));
    t.deepEqual(shard.run.shard.suite.cases, 203);
    t.is(shard.run.shard.index, k);
    t.is(shard.cases.length, k <= 3 ? 51 : 50, 'round-robin: 203 = 51 + 51 + 51 + 50');
    shards.push(`shard${k}`);
  }
  const merge = await sockslab(['report', 'merge', ...shards, '-o', 'merged'], work);
  t.is(merge.exitCode, 0, merge.stdout + merge.stderr);
  t.regex(merge.stdout, /merged 4 shards: 203 cases, 203 passed, 0 failed/);

  const one = await runDir(join(work, 'whole', 'latest'));
  const merged = await runDir(join(work, 'merged'));
  const mergedReport = JSON.parse(await readFile(join(merged.dir, 'report.json'), 'utf8'));
  t.is(mergedReport.run.shard, undefined, 'a merged report is no shard');
  t.is(mergedReport.cases.length, 203);
  t.is(await normalisedJson(merged), await normalisedJson(one));
  for (const file of ['junit.xml', 'summary.md', 'index.html']) {
    const text = async (d: RunDir) =>
      normaliseReportText(await readFile(join(d.dir, file), 'utf8'), [one.id, merged.id]);
    t.is(await text(merged), await text(one), `${file} equal after normalising`);
  }
  t.deepEqual(validateJunit(await readFile(join(merged.dir, 'junit.xml'), 'utf8')), []);
  const html = await readFile(join(merged.dir, 'index.html'), 'utf8');
  for (const c of mergedReport.cases as { name: string }[]) {
    t.true(html.includes(xmlEscape(c.name)), `index.html holds ${c.name}`);
  }
  const svgs = async (d: RunDir) => (await readdir(join(d.dir, 'cases'))).sort();
  t.deepEqual(await svgs(merged), await svgs(one));
  t.is(
    await readFile(join(merged.dir, 'cases', (await svgs(merged))[100]!), 'utf8'),
    await readFile(join(one.dir, 'cases', (await svgs(one))[100]!), 'utf8'),
  );

  // Refusals, exit 2, each naming what is wrong.
  const missing = await sockslab(['report', 'merge', 'shard1', 'shard2', 'shard4', '-o', 'bad'], work);
  t.is(missing.exitCode, 2);
  t.regex(missing.stderr, /shard 3\/4 missing: 203 cases need all 4 shards/);
  const doubled = await sockslab(['report', 'merge', ...shards, 'shard2', '-o', 'bad'], work);
  t.is(doubled.exitCode, 2);
  t.regex(doubled.stderr, /shard 2\/4 given twice: shard2 and shard2/);
  const notShard = await sockslab(['report', 'merge', 'whole', 'shard1', '-o', 'bad'], work);
  t.is(notShard.exitCode, 2);
  t.regex(notShard.stderr, /whole: report\.json is not a shard's \(run it with --shard K\/N\)/);
  // A shard of another suite: the same topology, only the fault cases (--tags selects none of the
  // frozen rows, so use the fault file alone).
  const other = await sockslab(
    ['run', topology, 'suite/b-faults.scenario.yaml', '--report-dir', 'other', '--shard', '1/4'],
    work,
  );
  t.is(other.exitCode, 0, other.stdout + other.stderr);
  const foreign = await sockslab(
    ['report', 'merge', 'other', 'shard2', 'shard3', 'shard4', '-o', 'bad'],
    work,
  );
  t.is(foreign.exitCode, 2);
  t.regex(foreign.stderr, /are shards of different runs: their suites \(scenario cases\) differ/);
});
