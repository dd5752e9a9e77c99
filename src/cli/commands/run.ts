import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
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
import type { DiagramHooks } from '../../report/diagrams.ts';
import { anchor, renderHtml } from '../../report/html.ts';
import { renderJson } from '../../report/json.ts';
import { failureMessage, renderJunit } from '../../report/junit.ts';
import { renderMarkdown } from '../../report/markdown.ts';
import { matrixReport } from '../../report/matrix-heat.ts';
import { buildRunReport, type RunReport } from '../../report/model.ts';
import { renderCoverage, renderFailures, renderFindings, renderResultTable } from '../../report/terminal.ts';
import { faultSupportText } from '../../runtime/fault-support.ts';
import { ConfigsInPlace } from '../../scenario/config-undo.ts';
import { allCases, scenarioDirectory, selectScenarios } from '../../scenario/discover.ts';
import { SpecTimers } from '../../scenario/elapsed.ts';
import { FaultsInPlace, usesLinkFaults } from '../../scenario/faults-in-place.ts';
import type { ScenarioCase } from '../../scenario/model.ts';
import { describeReply } from '../../scenario/replies.ts';
import type { CaseResult } from '../../scenario/result.ts';
import { type CasePredictor, type RunnerOptions, runCase } from '../../scenario/runner.ts';
import { ScenarioTimeouts } from '../../scenario/timeouts.ts';
import { loadTopologyWithConfigs } from '../../topology/load.ts';
import type { ResolvedTopology } from '../../topology/model.ts';
import { runtimeRegistry } from '../runtimes.ts';

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

/** Every diagram of the run, each on its own: a failure is reported, never fatal to the others. */
async function diagrams(topology: ResolvedTopology, results: readonly CaseResult[]): Promise<RunDiagrams> {
  try {
    const d = await import('../../diagram/run-diagrams.ts');
    return await d.runDiagrams(
      topology,
      results.map((r) => ({ name: r.case.name, trace: r.trace })),
    );
  } catch (err) {
    // Only loading the diagram module itself (Graphviz's WebAssembly) can end up here.
    return {
      topologySvg: undefined,
      caseSvgs: new Map(),
      sequenceSvgs: new Map(),
      mermaid: new Map(),
      failures: [{ diagram: 'all diagrams', error: (err as Error).message }],
    };
  }
}

async function writeReports(
  reportDir: string,
  runDir: string,
  report: RunReport,
  art: RunDiagrams,
): Promise<string> {
  const dir = join(reportDir, runDir);
  await mkdir(join(dir, 'cases'), { recursive: true });
  const hooks: DiagramHooks = {
    ...(art.topologySvg ? { topologySvg: art.topologySvg } : {}),
    caseSvg: (c) => art.caseSvgs.get(c.name),
    caseSequenceSvg: (c) => art.sequenceSvgs.get(c.name),
    caseMermaid: (c) => art.mermaid.get(c.name),
  };
  await writeFile(join(dir, 'report.json'), renderJson(report));
  await writeFile(join(dir, 'junit.xml'), renderJunit(report));
  await writeFile(join(dir, 'summary.md'), renderMarkdown(report, hooks));
  await writeFile(join(dir, 'index.html'), renderHtml(report, hooks));
  if (art.topologySvg) await writeFile(join(dir, 'topology.svg'), art.topologySvg);
  let n = 0;
  for (const c of report.cases) {
    const svg = art.caseSvgs.get(c.name);
    const sequence = art.sequenceSvgs.get(c.name);
    n++;
    const stem = join(dir, 'cases', `${String(n).padStart(2, '0')}-${anchor(c.name)}`);
    if (svg) await writeFile(`${stem}.svg`, svg);
    if (sequence) await writeFile(`${stem}.sequence.svg`, sequence);
  }
  // Point `latest` at this run atomically: a new link under a temporary name, renamed over the old.
  const latest = join(reportDir, 'latest');
  const next = `${latest}.${runDir}`;
  await symlink(runDir, next);
  try {
    await rename(next, latest);
  } catch (err) {
    await rm(next, { force: true });
    throw err;
  }
  return dir;
}

/** Live task list on a terminal; plain lines in CI or when output is piped. */
async function execute(
  cases: readonly ScenarioCase[],
  options: Omit<RunnerOptions, 'cases'>,
  mode: 'tty' | 'plain' | 'silent',
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  if (mode === 'tty') {
    const list = new Listr(
      cases.map((c) => ({
        title: c.name,
        task: async (_ctx: unknown, task: { title: string }) => {
          const r = await runCase(options, c);
          results.push(r);
          task.title = `${c.name} — ${describeReply(r.outcome.reply, c.protocol)}, ${r.trace.path.join(' > ')}`;
          if (r.verdict === 'fail') throw new Error(failureMessage({ failures: r.failures } as never));
        },
      })),
      {
        concurrent: false,
        exitOnError: false,
        renderer: 'default',
        rendererOptions: { collapseErrors: false },
      },
    );
    await list.run().catch(() => undefined);
    return results;
  }
  for (const [i, c] of cases.entries()) {
    const r = await runCase(options, c);
    results.push(r);
    if (mode === 'plain') {
      process.stdout.write(
        `[${i + 1}/${cases.length}] ${r.verdict === 'pass' ? 'PASS' : 'FAIL'} ${c.name}\n`,
      );
    }
  }
  return results;
}

export async function runCommand(
  topologyArg: string,
  scenarioArgs: readonly string[],
  options: RunOptions,
): Promise<number> {
  const cwd = process.cwd();
  const topologyFile = resolve(cwd, topologyArg);
  const { topology, configs } = await loadTopologyWithConfigs(topologyFile);
  const scenarios = await selectScenarios(topology, {
    files: scenarioArgs,
    ...scenarioDirectory(topologyFile, options.scenarioDir, cwd),
    cwd,
    tags: parseTags(options.tags),
  });
  const cases = allCases(scenarios);
  if (cases.length === 0) {
    throw new InputError(
      'E_SCENARIO_NONE',
      `no scenario case${options.tags ? ` tagged ${options.tags}` : ''} to run for topology "${topology.name}"`,
    );
  }
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
  const lab = await runtime.up(topology, {
    runId: id,
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
  let results: CaseResult[];
  let servers: Awaited<ReturnType<NonNullable<typeof lab.serverTotals>>> | undefined;
  try {
    results = await execute(
      cases,
      {
        lab,
        configs: new ConfigsInPlace(topology),
        faults: new FaultsInPlace(topology.faults),
        timers,
        ...(predictor ? { predictor } : {}),
      },
      options.json ? 'silent' : interactive ? 'tty' : 'plain',
    );
    servers = await lab.serverTotals?.();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await lab.down();
  }
  const topologyName = relative(cwd, topologyFile) || topologyFile;
  const coverage = ruleCoverage(
    topology,
    configs,
    results.map((r) => ({ case: r.case, trace: r.trace })),
    'observed',
    topologyName,
  );
  const art = await diagrams(topology, results);
  const built = buildRunReport(
    {
      id,
      runtime: runtime.name,
      startedAt: started,
      finishedAt: Date.now(),
      scenarios: scenarios.map((s) => s.file),
      tags: parseTags(options.tags),
      topologyFile: topologyName,
      diagramFailures: art.failures,
    },
    topology,
    results,
    coverage,
    servers,
  );
  const report: RunReport = { ...built, matrix };
  const dir = await writeReports(resolve(cwd, options.reportDir), runDirName(started, id), report, art);
  if (options.json) {
    process.stdout.write(renderJson(report));
  } else {
    const failures = renderFailures(report);
    const findings = renderFindings(report);
    process.stdout.write(`\n${renderResultTable(report)}`);
    if (failures) process.stdout.write(`\n${failures}`);
    if (findings) process.stdout.write(`\n${findings}`);
    process.stdout.write(`\n${renderCoverage(report)}`);
    for (const f of art.failures) {
      process.stderr.write(`sockslab: diagram ${JSON.stringify(f.diagram)} not drawn: ${f.error}\n`);
    }
    process.stdout.write(
      `reports: ${relative(cwd, dir) || dir}/ (index.html, report.json, junit.xml, summary.md)\n`,
    );
  }
  return report.run.totals.failed > 0 ? 1 : 0;
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
    .action(async (topology: string, scenarios: string[], options: RunOptions) => {
      process.exitCode = await runCommand(topology, scenarios, options);
    });
}
