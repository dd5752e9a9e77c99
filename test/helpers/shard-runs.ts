import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { renderJson } from '../../src/report/json.ts';
import { normaliseReport, normaliseReportText } from '../../src/report/normalise.ts';
import { xmlEscape } from '../../src/report/xml.ts';
import { writeGeneratedSuite } from './generated-suite.ts';
import type { GeneratedOptions } from './generated-topology.ts';
import { validateJunit } from './junit-validator.ts';
import { projectRoot } from './seed-topology.ts';

/**
 * Issue 18's check, on any runtime: a generated suite run once unsharded one case at a time, and
 * as N shards with `--jobs`; `sockslab report merge` of the shards must give the unsharded run's
 * report.json, junit.xml, summary.md and index.html (normalised: ids, times, durations, ephemeral
 * ports) and the same case diagrams.
 */

const cli = join(projectRoot, 'src/cli/sockslab.ts');

export function sockslab(args: readonly string[], cwd: string) {
  // The scratch directory has no node_modules: tsx is named by its resolved place.
  return execa('node', [`--import=${import.meta.resolve('tsx')}`, cli, ...args], {
    cwd,
    reject: false,
    env: { CI: '1' },
    timeout: 600_000,
  });
}

export interface ShardRuns {
  readonly work: string;
  readonly topology: string;
  readonly cases: number;
  readonly shardDirs: readonly string[];
}

export async function wholeAndShards(
  t: ExecutionContext,
  options: {
    readonly runtime: string;
    readonly rows: number;
    readonly shards: number;
    readonly jobs: number;
    readonly estate?: GeneratedOptions;
  },
): Promise<ShardRuns> {
  const work = await mkdtemp(join(tmpdir(), 'sockslab-shards-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const suite = await writeGeneratedSuite(join(work, 'suite'), options.rows, options.estate);
  const topology = 'suite/generated.yaml';
  const runtime = ['--runtime', options.runtime];
  const whole = await sockslab(['run', topology, ...runtime, '--report-dir', 'whole', '--jobs', '1'], work);
  t.is(whole.exitCode, 0, whole.stdout.slice(-3000) + whole.stderr);
  const shardDirs: string[] = [];
  for (let k = 1; k <= options.shards; k++) {
    const dir = `shard${k}`;
    const r = await sockslab(
      [
        'run',
        topology,
        ...runtime,
        '--report-dir',
        dir,
        '--shard',
        `${k}/${options.shards}`,
        '--jobs',
        String(options.jobs),
      ],
      work,
    );
    t.is(r.exitCode, 0, r.stdout.slice(-3000) + r.stderr);
    const shard = JSON.parse(await readFile(join(work, dir, 'latest', 'report.json'), 'utf8'));
    t.deepEqual(
      { index: shard.run.shard.index, count: shard.run.shard.count, suite: shard.run.shard.suite.cases },
      { index: k, count: options.shards, suite: suite.cases },
    );
    shardDirs.push(dir);
  }
  return { work, topology, cases: suite.cases, shardDirs };
}

interface RunDir {
  readonly dir: string;
  readonly id: string;
}

async function runDir(dir: string): Promise<RunDir> {
  const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as { run: { id: string } };
  return { dir, id: report.run.id };
}

/** Merges the shards into `merged/` and holds it equal to the unsharded run's report. */
export async function mergedEqualsWhole(t: ExecutionContext, runs: ShardRuns): Promise<void> {
  const merge = await sockslab(['report', 'merge', ...runs.shardDirs, '-o', 'merged'], runs.work);
  t.is(merge.exitCode, 0, merge.stdout + merge.stderr);
  t.regex(
    merge.stdout,
    new RegExp(`merged ${runs.shardDirs.length} shards: ${runs.cases} cases, ${runs.cases} passed, 0 failed`),
  );
  const one = await runDir(join(runs.work, 'whole', 'latest'));
  const merged = await runDir(join(runs.work, 'merged'));
  const report = JSON.parse(await readFile(join(merged.dir, 'report.json'), 'utf8'));
  t.is(report.run.shard, undefined, 'a merged report is no shard');
  t.is(report.cases.length, runs.cases);
  const json = async (d: RunDir) =>
    renderJson(normaliseReport(JSON.parse(await readFile(join(d.dir, 'report.json'), 'utf8'))));
  t.is(await json(merged), await json(one), 'report.json equal after normalising');
  for (const file of ['junit.xml', 'summary.md', 'index.html']) {
    const text = async (d: RunDir) =>
      normaliseReportText(await readFile(join(d.dir, file), 'utf8'), [one.id, merged.id]);
    t.is(await text(merged), await text(one), `${file} equal after normalising`);
  }
  t.deepEqual(validateJunit(await readFile(join(merged.dir, 'junit.xml'), 'utf8')), []);
  const html = await readFile(join(merged.dir, 'index.html'), 'utf8');
  const absent = (report.cases as { name: string }[]).filter((c) => !html.includes(xmlEscape(c.name)));
  t.deepEqual(absent, [], 'index.html holds every case');
  const svgs = async (d: RunDir) => (await readdir(join(d.dir, 'cases'))).sort();
  const names = await svgs(merged);
  t.deepEqual(names, await svgs(one));
  // Each case has its map (NN-name.svg) and its sequence view (NN-name.sequence.svg).
  t.is(names.filter((n) => n.endsWith('.sequence.svg')).length, runs.cases);
  t.is(names.length, 2 * runs.cases);
  for (const name of [names[0]!, names[Math.floor(names.length / 2)]!, names.at(-1)!]) {
    t.is(
      await readFile(join(merged.dir, 'cases', name), 'utf8'),
      await readFile(join(one.dir, 'cases', name), 'utf8'),
      `cases/${name}`,
    );
  }
}
