import { relative } from 'node:path';
import type { Command } from 'commander';
import { checkTopology } from '../../analysis/check.ts';
import { checkJson, renderCheck } from '../../report/check-text.ts';
import { allCases } from '../../scenario/discover.ts';
import { loadTopologyArgument, selectScenarioArguments } from '../suite-args.ts';

/**
 * `sockslab check <topology> [scenario...]`: validate the topology and its configs, lint them,
 * and predict every scenario case with the policy engine — no runtime, nothing started.
 * Exit 0 clean, 1 a lint error (or, with --strict, a warning) or a case whose prediction
 * contradicts its expectations, 2 invalid input.
 */
interface CheckOptions {
  readonly scenarioDir?: string;
  readonly scenarios: boolean;
  readonly json?: boolean;
  readonly strict?: boolean;
  readonly verbose?: boolean;
}

export async function checkCommand(
  topologyArg: string,
  scenarioArgs: readonly string[],
  options: CheckOptions,
): Promise<number> {
  const cwd = process.cwd();
  const { file: topologyFile, topology, configs } = await loadTopologyArgument(topologyArg, cwd);
  let cases: ReturnType<typeof allCases> = [];
  if (options.scenarios) {
    try {
      cases = allCases(
        await selectScenarioArguments(topology, topologyFile, {
          files: scenarioArgs,
          scenarioDir: options.scenarioDir,
          cwd,
        }),
      );
    } catch (err) {
      // No scenario file for this topology is fine for check: lint alone still runs.
      if (
        scenarioArgs.length > 0 ||
        !(
          err instanceof Error &&
          'code' in err &&
          (err.code === 'E_SCENARIO_NONE' || err.code === 'E_SCENARIO_DIR')
        )
      )
        throw err;
    }
  }
  const result = await checkTopology(topology, configs, cases, relative(cwd, topologyFile) || topologyFile);
  process.stdout.write(
    options.json ? checkJson(result) : renderCheck(result, { verbose: options.verbose === true }),
  );
  const failing =
    result.lints.some((l) => l.severity === 'error' || options.strict) ||
    result.cases.some((c) => c.contradictions.length > 0);
  return failing ? 1 : 0;
}

export function register(program: Command): void {
  program
    .command('check')
    .description(
      'validate, lint and predict every scenario case without a runtime (exit 0 clean, 1 findings, 2 bad input)',
    )
    .argument('<topology>', 'topology YAML file')
    .argument(
      '[scenario...]',
      'scenario files (default: every scenario file beside the topology naming it, see --scenario-dir)',
    )
    .option(
      '--scenario-dir <dir>',
      'where to look for scenario files (default: ../scenarios/ of a topologies/ directory, else *.scenario.yaml beside the topology)',
    )
    .option('--no-scenarios', 'lint only')
    .option('--json', 'machine-readable output')
    .option('--strict', 'lint warnings fail too')
    .option('-v, --verbose', 'print the reasoning of every prediction and the coverage of every rule line')
    .action(async (topology: string, scenarios: string[], options: CheckOptions) => {
      process.exitCode = await checkCommand(topology, scenarios, options);
    });
}
