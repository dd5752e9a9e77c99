import { readdir } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { InputError } from '../common/errors.ts';
import type { ResolvedTopology } from '../topology/model.ts';
import { loadScenarioFile } from './load.ts';
import type { Scenario, ScenarioCase } from './model.ts';
import { namesTopology, resolveScenario } from './resolve.ts';

/**
 * Which scenarios a run uses: the files given, or every scenario file in the scenarios
 * directory whose `topology:` names this topology. Files are named relative to `cwd` in
 * reports and errors, so reports do not depend on where the checkout lives.
 */
export interface ScenarioSelection {
  readonly files?: readonly string[];
  readonly directory: string;
  /** Which file names in `directory` are scenario files (default: every `.yaml`/`.yml`). */
  readonly pattern?: RegExp;
  readonly cwd: string;
  /** Keep only cases carrying at least one of these tags (empty = all). */
  readonly tags?: readonly string[];
}

/** Where scenario files for a topology are looked for when the command line names none. */
export interface ScenarioPlace {
  readonly directory: string;
  readonly pattern: RegExp;
}

const anyYaml = /\.ya?ml$/;
const scenarioYaml = /\.scenario\.ya?ml$/;

/**
 * The scenario files that belong to a topology file, found from the topology's own place (not the
 * current directory, so an installed package or another checkout works from anywhere):
 * - a topology in a directory named `topologies/` has its scenarios in the sibling `scenarios/`
 *   (the repository's and the package's layout: `topologies/x.yaml` → `scenarios/*.yaml`);
 * - any other topology has them beside it, as `*.scenario.yaml` (`lab.yaml` + `lab.scenario.yaml`),
 *   so that the topology files of that directory are not read as scenarios.
 * Pure: path in, place out.
 */
export function scenarioPlace(topologyFile: string): ScenarioPlace {
  const dir = dirname(resolve(topologyFile));
  return basename(dir) === 'topologies'
    ? { directory: join(dirname(dir), 'scenarios'), pattern: anyYaml }
    : { directory: dir, pattern: scenarioYaml };
}

/** `--scenario-dir` when given (every YAML file in it, relative to `cwd`), else the topology's place. */
export function scenarioDirectory(
  topologyFile: string,
  explicit: string | undefined,
  cwd: string,
): ScenarioPlace {
  return explicit === undefined
    ? scenarioPlace(topologyFile)
    : { directory: resolve(cwd, explicit), pattern: anyYaml };
}

export async function selectScenarios(
  topology: ResolvedTopology,
  selection: ScenarioSelection,
): Promise<Scenario[]> {
  const display = (file: string) => relative(selection.cwd, file) || file;
  let scenarios: Scenario[];
  if (selection.files && selection.files.length > 0) {
    scenarios = [];
    for (const file of selection.files) {
      const abs = resolve(selection.cwd, file);
      scenarios.push(resolveScenario(await loadScenarioFile(abs, display(abs)), topology));
    }
  } else {
    let names: string[];
    try {
      const pattern = selection.pattern ?? anyYaml;
      names = (await readdir(selection.directory)).filter((f) => pattern.test(f)).sort();
    } catch (err) {
      throw new InputError(
        'E_SCENARIO_DIR',
        `${display(selection.directory)}: cannot list scenario files: ${(err as Error).message}; name scenario files on the command line`,
      );
    }
    scenarios = [];
    for (const name of names) {
      const abs = join(selection.directory, name);
      const loaded = await loadScenarioFile(abs, display(abs));
      if (namesTopology(loaded.raw.topology, topology)) scenarios.push(resolveScenario(loaded, topology));
    }
    if (scenarios.length === 0) {
      throw new InputError(
        'E_SCENARIO_NONE',
        `no scenario file in ${display(selection.directory)} names topology "${topology.name}"`,
      );
    }
  }
  const tags = selection.tags ?? [];
  if (tags.length === 0) return scenarios;
  return scenarios.map((s) => ({ ...s, cases: s.cases.filter((c) => c.tags.some((t) => tags.includes(t))) }));
}

export function allCases(scenarios: readonly Scenario[]): ScenarioCase[] {
  return scenarios.flatMap((s) => s.cases);
}
