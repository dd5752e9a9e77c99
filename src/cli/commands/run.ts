import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { Listr } from 'listr2';
import { buildMatrix } from '../../analysis/matrix.ts';
import { createPredictor } from '../../analysis/predictor.ts';
import { ruleCoverage } from '../../analysis/rule-coverage.ts';
import { LabWorld } from '../../analysis/world.ts';
import { InputError } from '../../common/errors.ts';
import { newId } from '../../common/ids.ts';
import type { RunDiagrams } from '../../diagram/run-diagrams.ts';
import { renderJson } from '../../report/json.ts';
import { failureMessage } from '../../report/junit.ts';
import { matrixReport } from '../../report/matrix-heat.ts';
import { buildRunReport, type RunReport, type ShardReport } from '../../report/model.ts';
import { renderCoverage, renderFailures, renderFindings, renderResultTable } from '../../report/terminal.ts';
import { faultSupportText } from '../../runtime/fault-support.ts';
import type { Lab, LabTimeouts, Runtime } from '../../runtime/runtime.ts';
import { ConfigsInPlace } from '../../scenario/config-undo.ts';
import { allCases } from '../../scenario/discover.ts';
import { SpecTimers } from '../../scenario/elapsed.ts';
import { FaultsInPlace, usesLinkFaults } from '../../scenario/faults-in-place.ts';
import type { Scenario, ScenarioCase } from '../../scenario/model.ts';
import { describeReply } from '../../scenario/replies.ts';
import type { CaseResult } from '../../scenario/result.ts';
import type { CasePredictor, RunnerOptions } from '../../scenario/runner.ts';
import { runScheduled } from '../../scenario/scheduler.ts';
import { inShard, parseShard, type Shard, shardPositions, suiteFingerprint } from '../../scenario/shard.ts';
import { ScenarioTimeouts } from '../../scenario/timeouts.ts';
import type { Trace } from '../../scenario/trace.ts';
import type { ResolvedTopology } from '../../topology/model.ts';
import { drawDiagrams, linkLatest, writeReportFiles } from '../report-files.ts';
import { runtimeRegistry } from '../runtimes.ts';
import { loadTopologyArgument, selectScenarioArguments } from '../suite-args.ts';

/**
 * `sockslab run <topology> [scenario...]`: bring the topology up on a runtime, replay the
 * scenarios, check every case against its expectations and the static prediction, write
 * reports/<run>/{report.json,junit.xml,summary.md,index.html,topology.svg,cases/*.svg}
 * (each case's map `NN-name.svg` and sequence `NN-name.sequence.svg`) and
 * point reports/latest at it. Exit 0 all passed, 1 a case failed, 2 invalid input or runtime.
 */

interface RunOptions {
  readonly runtime: string;
  readonly tags?: string;
  readonly reportDir: string;
  readonly scenarioDir?: string;
  readonly json?: boolean;
  readonly specTimers?: boolean;
  readonly predict: boolean;
  readonly jobs?: string;
  readonly shard?: string;
}

/** `--jobs N`: a whole number ≥ 1; default the machine's available parallelism. */
export function parseJobs(text: string | undefined): number {
  if (text === undefined) return availableParallelism();
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new InputError('E_JOBS', `--jobs ${JSON.stringify(text)}: expected a whole number ≥ 1`);
  }
  return n;
}

/** `--tags a,b` */
function parseTags(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

function runDirName(started: number, id: string): string {
  const stamp = new Date(started)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
    .replace('T', '-');
  return `${stamp}-${id}`;
}

async function writeReports(
  reportDir: string,
  runDir: string,
  report: RunReport,
  art: RunDiagrams,
): Promise<string> {
  const dir = join(reportDir, runDir);
  await writeReportFiles(dir, report, art);
  await linkLatest(reportDir, runDir);
  return dir;
}

/**
 * Runs the suite (or this shard's part of it) with `jobs` request-only cases at a time. A live
 * task list on a terminal; plain lines, in the order cases finish, in CI or when output is piped.
 */
async function execute(
  cases: readonly ScenarioCase[],
  options: Omit<RunnerOptions, 'cases'>,
  schedule: { readonly jobs: number; readonly shard: Shard | undefined },
  mode: 'tty' | 'plain' | 'silent',
): Promise<CaseResult[]> {
  const selected = (i: number) => schedule.shard === undefined || inShard(i, schedule.shard);
  const mine = cases.flatMap((c, i) => (selected(i) ? [{ c, i }] : []));
  const run = (hooks: RunnerOptions['hooks']) =>
    runScheduled({ ...options, cases, jobs: schedule.jobs, selected, ...(hooks ? { hooks } : {}) });
  if (mode === 'tty') {
    // Each task shows its case; the scheduler decides when it really runs.
    const done = new Map<number, { resolve: (r: CaseResult) => void; promise: Promise<CaseResult> }>();
    for (const { i } of mine) {
      let resolve!: (r: CaseResult) => void;
      const promise = new Promise<CaseResult>((r) => {
        resolve = r;
      });
      done.set(i, { resolve, promise });
    }
    const list = new Listr(
      mine.map(({ c, i }) => ({
        title: c.name,
        task: async (_ctx: unknown, task: { title: string }) => {
          const r = await done.get(i)!.promise;
          task.title = `${c.name} — ${describeReply(r.outcome.reply, c.protocol)}, ${r.trace.path.join(' > ')}`;
          if (r.verdict === 'fail') throw new Error(failureMessage({ failures: r.failures } as never));
        },
      })),
      {
        concurrent: schedule.jobs,
        exitOnError: false,
        renderer: 'default',
        rendererOptions: { collapseErrors: false },
      },
    );
    const shown = list.run().catch(() => undefined);
    const results = await run({ onCaseEnd: (r, i) => done.get(i)?.resolve(r) });
    await shown;
    return results;
  }
  let finished = 0;
  return run(
    mode === 'plain'
      ? {
          onCaseEnd: (r) => {
            finished++;
            process.stdout.write(
              `[${finished}/${mine.length}] ${r.verdict === 'pass' ? 'PASS' : 'FAIL'} ${r.case.name}\n`,
            );
          },
        }
      : undefined,
  );
}

/** A trace with no hops and no client route: a case of another shard, which counts for no rule line. */
const untraced = (c: ScenarioCase): Trace => ({
  origin: { host: c.request.from, user: c.request.user },
  target: { host: c.request.target.host, port: c.request.target.port },
  protocol: c.request.protocol,
  command: c.request.command,
  hops: [],
  path: [],
  reply: null,
});

/**
 * `sockslab run`: the suite loaded, the lab up, every case replayed and checked, the lab down,
 * then the report built, written and printed. Returns the exit status.
 */
export async function runCommand(
  topologyArg: string,
  scenarioArgs: readonly string[],
  options: RunOptions,
): Promise<number> {
  const cwd = process.cwd();
  const suite = await loadSuite(topologyArg, scenarioArgs, options, cwd);
  const { topology, configs } = suite;
  const jobs = parseJobs(options.jobs);
  const shard = options.shard !== undefined ? parseShard(options.shard) : undefined;
  const reg = await runtimeRegistry(options.runtime);
  const runtime = await reg.ready(options.runtime);
  const id = newId();
  const started = Date.now();
  const timers = options.specTimers ? SpecTimers : ScenarioTimeouts;
  const predictor: CasePredictor | undefined = options.predict
    ? createPredictor(topology, configs, timers)
    : undefined;
  // The request-class matrix of the topology as written (static: before any scenario step).
  const matrix = matrixReport(await buildMatrix(new LabWorld(topology, configs)));
  const { results, servers } = await replayOnLab(
    runtime,
    suite,
    { id, timers, predictor, jobs, shard },
    options,
  );
  const topologyName = relative(cwd, suite.file) || suite.file;
  const coverage = suiteCoverage(suite, results, topologyName);
  const art = await drawDiagrams(
    topology,
    results.map((r) => ({ name: r.case.name, trace: r.trace })),
  );
  const built = buildRunReport(
    {
      id,
      runtime: runtime.name,
      startedAt: started,
      finishedAt: Date.now(),
      scenarios: suite.scenarios.map((s) => s.file),
      tags: parseTags(options.tags),
      topologyFile: topologyName,
      diagramFailures: art.failures,
      ...(shard ? { shard: shardReport(suite, shard) } : {}),
    },
    topology,
    results,
    coverage,
    servers,
  );
  const report: RunReport = { ...built, matrix };
  const dir = await writeReports(resolve(cwd, options.reportDir), runDirName(started, id), report, art);
  if (options.json) process.stdout.write(renderJson(report));
  else printRun(report, art, relative(cwd, dir) || dir);
  return report.run.totals.failed > 0 ? 1 : 0;
}

/** The topology with its configs, its scenarios (`--tags` applied) and their cases in suite order. */
interface Suite {
  readonly file: string;
  readonly topology: ResolvedTopology;
  readonly configs: Awaited<ReturnType<typeof loadTopologyArgument>>['configs'];
  readonly scenarios: readonly Scenario[];
  readonly cases: readonly ScenarioCase[];
}

async function loadSuite(
  topologyArg: string,
  scenarioArgs: readonly string[],
  options: RunOptions,
  cwd: string,
): Promise<Suite> {
  const { file, topology, configs } = await loadTopologyArgument(topologyArg, cwd);
  const scenarios = await selectScenarioArguments(
    topology,
    file,
    { files: scenarioArgs, scenarioDir: options.scenarioDir, cwd },
    parseTags(options.tags),
  );
  const cases = allCases(scenarios);
  if (cases.length === 0) {
    throw new InputError(
      'E_SCENARIO_NONE',
      `no scenario case${options.tags ? ` tagged ${options.tags}` : ''} to run for topology "${topology.name}"`,
    );
  }
  return { file, topology, configs, scenarios, cases };
}

/** How this run replays its suite: its id, its timers, the prediction to compare with, the schedule. */
interface ReplayPlan {
  readonly id: string;
  readonly timers: LabTimeouts;
  readonly predictor: CasePredictor | undefined;
  readonly jobs: number;
  readonly shard: Shard | undefined;
}

/**
 * Brings the lab up, replays the cases (this shard's) and takes the lab down again, also on
 * Ctrl-C or a TERM from CI. Returns the case results and the servers' own counters.
 */
async function replayOnLab(
  runtime: Runtime,
  suite: Suite,
  plan: ReplayPlan,
  options: RunOptions,
): Promise<{ results: CaseResult[]; servers: ServerTotalsOf | undefined }> {
  const { topology, cases } = suite;
  const lab = await runtime.up(topology, {
    runId: plan.id,
    ...(options.specTimers ? {} : { timeouts: ScenarioTimeouts }),
  });
  const interactive = process.stdout.isTTY === true && !process.env.CI && !options.json;
  // Link faults: say by which mechanism this lab applies them (what the kernel offers decides).
  if ((topology.faults?.length || cases.some(usesLinkFaults)) && !options.json && lab.faultSupport) {
    process.stdout.write(`${faultSupportText(await lab.faultSupport())}\n`);
  }
  // Ctrl-C or a TERM from CI: take the lab down (namespaces, containers) before leaving.
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`sockslab: ${signal}: taking the lab down\n`);
    void lab.down().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const results = await execute(
      cases,
      {
        lab,
        configs: new ConfigsInPlace(topology),
        faults: new FaultsInPlace(topology.faults),
        timers: plan.timers,
        ...(plan.predictor ? { predictor: plan.predictor } : {}),
      },
      { jobs: plan.jobs, shard: plan.shard },
      options.json ? 'silent' : interactive ? 'tty' : 'plain',
    );
    const servers = await lab.serverTotals?.();
    return { results, servers };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await lab.down();
  }
}

type ServerTotalsOf = Awaited<ReturnType<NonNullable<Lab['serverTotals']>>>;

/**
 * Rule coverage of the run. A shard counts coverage over the whole suite, its own cases traced and
 * the others' lab steps followed (the configs in force at each case are the suite's), then only
 * its own cases.
 */
function suiteCoverage(suite: Suite, results: readonly CaseResult[], topologyName: string) {
  const traced = new Map(results.map((r) => [r.case, r.trace]));
  const covered = ruleCoverage(
    suite.topology,
    suite.configs,
    suite.cases.map((c) => ({ case: c, trace: traced.get(c) ?? untraced(c) })),
    'observed',
    topologyName,
  );
  return { ...covered, cases: results.length };
}

/** Which part of the suite this shard ran, so `report merge` can put the shards together. */
function shardReport(suite: Suite, shard: Shard): ShardReport {
  return {
    index: shard.index,
    count: shard.count,
    suite: { cases: suite.cases.length, fingerprint: suiteFingerprint(suite.topology.name, suite.cases) },
    positions: shardPositions(suite.cases.length, shard),
  };
}

/** The terminal summary: results, failures, findings, coverage, undrawn diagrams, where the reports are. */
function printRun(report: RunReport, art: RunDiagrams, dir: string): void {
  const failures = renderFailures(report);
  const findings = renderFindings(report);
  process.stdout.write(`\n${renderResultTable(report)}`);
  if (failures) process.stdout.write(`\n${failures}`);
  if (findings) process.stdout.write(`\n${findings}`);
  process.stdout.write(`\n${renderCoverage(report)}`);
  for (const f of art.failures) {
    process.stderr.write(`sockslab: diagram ${JSON.stringify(f.diagram)} not drawn: ${f.error}\n`);
  }
  process.stdout.write(`reports: ${dir}/ (index.html, report.json, junit.xml, summary.md)\n`);
}

export function register(program: Command): void {
  program
    .command('run')
    .description(
      'bring a topology up, replay its scenarios, check and report (exit 0 pass, 1 a case failed, 2 bad input/runtime)',
    )
    .argument('<topology>', 'topology YAML file')
    .argument(
      '[scenario...]',
      'scenario files (default: every scenario file beside the topology naming it, see --scenario-dir)',
    )
    .option('--runtime <name>', 'local | netns | docker', 'local')
    .option('--tags <list>', 'only cases with one of these comma-separated tags')
    .option('--report-dir <dir>', 'where reports/<run>/ and reports/latest go', 'reports')
    .option(
      '--scenario-dir <dir>',
      'where to look for scenario files (default: ../scenarios/ of a topologies/ directory, else *.scenario.yaml beside the topology)',
    )
    .option('--json', 'print report.json to stdout instead of the table')
    .option(
      '--spec-timers',
      "use the spec's production timers (15 s identd, 30 s upstream) instead of short lab timers",
    )
    .option('--no-predict', 'do not compare with the static prediction')
    .option(
      '--jobs <n>',
      'request-only cases run this many at a time on the one lab; a case with lab steps runs alone (default: the number of cores)',
    )
    .option(
      '--shard <K/N>',
      'run only shard K of N: case i of the suite (from 0, in suite order) belongs to shard (i mod N)+1; merge with `sockslab report merge`',
    )
    .action(async (topology: string, scenarios: string[], options: RunOptions) => {
      process.exitCode = await runCommand(topology, scenarios, options);
    });
}
