import { access, readdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Command } from 'commander';
import { InputError } from '../../common/errors.ts';
import { newId } from '../../common/ids.ts';
import { readTextFile } from '../../common/read-text.ts';
import { mergeReports, type ShardInput } from '../../report/merge.ts';
import { ReportVersion, type RunReport, topologySummary } from '../../report/model.ts';
import { loadTopologyWithConfigs } from '../../topology/load.ts';
import { drawDiagrams, writeReportFiles } from '../report-files.ts';

/**
 * `sockslab report merge DIR… [-o OUT] [--topology FILE]`: the reports of the shards of one suite
 * (`run --shard K/N`) merged into the report one unsharded run writes — report.json, junit.xml,
 * summary.md, index.html, topology.svg and cases/*.svg — in OUT. Each DIR is a run directory
 * (with report.json), or a report directory whose `latest` points at one or that holds one. The diagrams are drawn
 * again from the merged traces over the topology the shards name (`--topology` when it moved).
 * Exit 0 merged and every case passed, 1 merged with a failed case, 2 shards that do not form one
 * complete suite, or unreadable input.
 */

interface MergeOptions {
  readonly output: string;
  readonly topology?: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * DIR/report.json, else DIR/latest/report.json, else the report.json of DIR's only run directory
 * (a --report-dir copied without its `latest` link, as CI artifact uploads do).
 */
async function shardFile(abs: string): Promise<string> {
  for (const candidate of [join(abs, 'report.json'), join(abs, 'latest', 'report.json')]) {
    if (await exists(candidate)) return candidate;
  }
  const runs: string[] = [];
  try {
    for (const e of await readdir(abs, { withFileTypes: true })) {
      if (e.isDirectory() && (await exists(join(abs, e.name, 'report.json')))) runs.push(e.name);
    }
  } catch {
    // not a directory: reported below
  }
  return runs.length === 1 ? join(abs, runs[0]!, 'report.json') : join(abs, 'report.json');
}

async function readShard(dir: string, cwd: string): Promise<ShardInput> {
  const abs = resolve(cwd, dir);
  const file = await shardFile(abs);
  const shown = relative(cwd, file) || file;
  const text = await readTextFile(
    file,
    (err) =>
      new InputError(
        'E_MERGE_READ',
        `${dir}: no report.json in it, in ${join(dir, 'latest')} nor in one run directory of it (${err.code ?? err.message})`,
      ),
  );
  let report: RunReport;
  try {
    report = JSON.parse(text) as RunReport;
  } catch (err) {
    throw new InputError('E_MERGE_READ', `${shown}: not JSON: ${(err as Error).message}`);
  }
  if (report?.version !== ReportVersion || !Array.isArray(report.cases) || !report.run) {
    throw new InputError(
      'E_MERGE_READ',
      `${shown}: not a sockslab report.json of version ${ReportVersion} (version ${JSON.stringify(report?.version)})`,
    );
  }
  return { dir, report };
}

export async function mergeCommand(dirs: readonly string[], options: MergeOptions): Promise<number> {
  const cwd = process.cwd();
  const shards: ShardInput[] = [];
  for (const dir of dirs) shards.push(await readShard(dir, cwd));
  // Checks the shards first: a bad set is reported before any topology is read.
  const merged = mergeReports(shards, { id: newId(), diagramFailures: [] });
  const topologyFile = resolve(cwd, options.topology ?? merged.topology.file);
  let loaded: Awaited<ReturnType<typeof loadTopologyWithConfigs>>;
  try {
    loaded = await loadTopologyWithConfigs(topologyFile);
  } catch (err) {
    throw new InputError(
      'E_MERGE_TOPOLOGY',
      `the shards ran topology ${merged.topology.file}, which cannot be read from ${cwd} (${(err as Error).message}); name it with --topology FILE`,
    );
  }
  if (!isDeepStrictEqual(topologySummary(loaded.topology, merged.topology.file), merged.topology)) {
    throw new InputError(
      'E_MERGE_TOPOLOGY',
      `${relative(cwd, topologyFile) || topologyFile} is not the topology the shards ran (its networks or hosts differ from report.json's)`,
    );
  }
  const art = await drawDiagrams(
    loaded.topology,
    merged.cases.map((c) => ({ name: c.name, trace: c.trace })),
  );
  const report: RunReport = { ...merged, diagramFailures: art.failures };
  const out = resolve(cwd, options.output);
  await writeReportFiles(out, report, art);
  for (const f of art.failures) {
    process.stderr.write(`sockslab: diagram ${JSON.stringify(f.diagram)} not drawn: ${f.error}\n`);
  }
  const t = report.run.totals;
  process.stdout.write(
    `merged ${shards.length} shards: ${t.cases} cases, ${t.passed} passed, ${t.failed} failed → ${relative(cwd, out) || out}/ (index.html, report.json, junit.xml, summary.md)\n`,
  );
  return t.failed > 0 ? 1 : 0;
}

export function register(program: Command): void {
  const report = program.command('report').description('work with run reports');
  report
    .command('merge')
    .description(
      'merge the reports of the shards of one suite (run --shard K/N) into the report of one unsharded run (exit 0 all passed, 1 a case failed, 2 shards missing, doubled or of different suites)',
    )
    .argument(
      '<dir...>',
      'shard report directories (a run directory with report.json, or a --report-dir whose latest points at one)',
    )
    .option('-o, --output <dir>', 'where the merged report goes', 'reports/merged')
    .option('--topology <file>', 'the topology file the shards ran, when not where report.json says')
    .action(async (dirs: string[], options: MergeOptions) => {
      process.exitCode = await mergeCommand(dirs, options);
    });
}
