import { resolve } from 'node:path';
import type { Command } from 'commander';
import { generateMutants } from '../../analysis/mutants.ts';
import { judgeMutants } from '../../analysis/mutate.ts';
import { type ConfirmResult, confirmSurvivors } from '../../analysis/mutate-confirm.ts';
import { classWitnessSource } from '../../analysis/mutate-witnesses.ts';
import { InputError } from '../../common/errors.ts';
import { newId } from '../../common/ids.ts';
import { mutationJson, renderMutation } from '../../report/mutate-text.ts';
import { allCases, selectScenarios } from '../../scenario/discover.ts';
import { ScenarioTimeouts } from '../../scenario/timeouts.ts';
import { loadTopologyWithConfigs } from '../../topology/load.ts';
import { runtimeRegistry } from '../runtimes.ts';

/**
 * `sockslab mutate <topology> [scenario...]`: every config mutant judged by predicting the suite
 * (no runtime); prints the mutation score and each survivor with the case that would catch it.
 * `--confirm` replays those cases live on a runtime. Exit 0 when the run completed, 1 below
 * `--min-score`, 2 invalid input or runtime unavailable.
 */
interface MutateOptions {
  readonly scenarioDir: string;
  readonly json?: boolean;
  readonly verbose?: boolean;
  readonly confirm?: boolean;
  readonly runtime: string;
  readonly minScore?: string;
}

function minScore(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100)
    throw new InputError(
      'E_MUTATE_MIN_SCORE',
      `--min-score ${JSON.stringify(text)}: expected a percentage from 0 to 100`,
    );
  return n;
}

export async function mutateCommand(
  topologyArg: string,
  scenarioArgs: readonly string[],
  options: MutateOptions,
): Promise<number> {
  const threshold = minScore(options.minScore);
  const cwd = process.cwd();
  const design = await loadTopologyWithConfigs(resolve(cwd, topologyArg));
  const cases = allCases(
    await selectScenarios(design.topology, {
      files: scenarioArgs,
      directory: resolve(cwd, options.scenarioDir),
      cwd,
    }),
  );
  if (cases.length === 0)
    throw new InputError(
      'E_SCENARIO_NONE',
      `no scenario case for topology "${design.topology.name}": nothing can kill a mutant`,
    );
  // Ask for the runtime before the analysis, so an unavailable one fails fast (exit 2).
  const runtime = options.confirm
    ? await (await runtimeRegistry(options.runtime)).ready(options.runtime)
    : undefined;
  const run = await judgeMutants(design, cases, generateMutants(design), { witnesses: classWitnessSource() });
  let confirm: ConfirmResult[] = [];
  if (runtime) {
    const progress = !options.json;
    confirm = await confirmSurvivors(design, run.verdicts, runtime, {
      runId: newId(),
      timeouts: ScenarioTimeouts,
      ...(progress
        ? {
            onResult: (r: ConfirmResult) =>
              process.stderr.write(
                `confirm ${r.mutant}: ${r.confirmed ? 'confirmed' : `not confirmed (${r.reason})`}\n`,
              ),
          }
        : {}),
    });
  }
  process.stdout.write(
    options.json
      ? mutationJson(run, confirm)
      : renderMutation(run, { verbose: options.verbose === true, confirm }),
  );
  return threshold !== undefined && run.score.percent < threshold ? 1 : 0;
}

export function register(program: Command): void {
  program
    .command('mutate')
    .description(
      'mutation-test the scenario suite against config mutants, by prediction (exit 0 done, 1 below --min-score, 2 bad input)',
    )
    .argument('<topology>', 'topology YAML file')
    .argument('[scenario...]', 'scenario files (default: every file in scenarios/ naming this topology)')
    .option('--scenario-dir <dir>', 'where to look for scenario files', 'scenarios')
    .option('--json', 'machine-readable output')
    .option('-v, --verbose', 'list the killed mutants too, each with the case that killed it')
    .option('--confirm', "replay each survivor's suggested case live, on the design and on the mutant")
    .option('--runtime <name>', 'runtime for --confirm: local | netns | docker', 'local')
    .option('--min-score <percent>', 'exit 1 when the mutation score is below this')
    .action(async (topology: string, scenarios: string[], options: MutateOptions) => {
      process.exitCode = await mutateCommand(topology, scenarios, options);
    });
}
