import { resolve } from 'node:path';
import { scenarioDirectory, selectScenarios } from '../scenario/discover.ts';
import type { Scenario } from '../scenario/model.ts';
import { loadTopologyWithConfigs } from '../topology/load.ts';
import type { ResolvedTopology } from '../topology/model.ts';

/**
 * The `<topology> [scenario...]` arguments that `run` and `check` share, read the same way by
 * both: paths relative to the working directory, scenarios found beside the topology when none
 * are named (`--scenario-dir` to look elsewhere).
 */

/** The `<topology>` argument: its absolute path, and the topology loaded with its parsed configs. */
export async function loadTopologyArgument(arg: string, cwd: string) {
  const file = resolve(cwd, arg);
  return { file, ...(await loadTopologyWithConfigs(file)) };
}

/** The `[scenario...]` arguments: the files named, else every scenario file that names the topology. */
export function selectScenarioArguments(
  topology: ResolvedTopology,
  topologyFile: string,
  args: { readonly files: readonly string[]; readonly scenarioDir: string | undefined; readonly cwd: string },
  tags?: readonly string[],
): Promise<Scenario[]> {
  return selectScenarios(topology, {
    files: args.files,
    ...scenarioDirectory(topologyFile, args.scenarioDir, args.cwd),
    cwd: args.cwd,
    ...(tags ? { tags } : {}),
  });
}
