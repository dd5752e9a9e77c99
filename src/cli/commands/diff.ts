import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Design } from '../../analysis/design-hosts.ts';
import { diffDesigns } from '../../analysis/diff.ts';
import { confirmDiff } from '../../analysis/replay.ts';
import { InputError } from '../../common/errors.ts';
import { diffJson, renderDiffMarkdown, renderDiffText } from '../../report/diff-text.ts';
import { applyConfigDir } from '../../topology/config-dir.ts';
import { loadTopologyWithConfigs } from '../../topology/load.ts';
import { runtimeRegistry } from '../runtimes.ts';

/**
 * `sockslab diff <before.yaml> <after.yaml>` or `sockslab diff <topology.yaml> --before DIR
 * --after DIR`: every request class whose outcome differs between two designs, with its
 * witness and both traces. Exit 0 no change, 1 changes, 2 bad input or runtime unavailable.
 */

interface DiffFlags {
  readonly before?: string;
  readonly after?: string;
  readonly json?: boolean;
  readonly markdown?: boolean;
  readonly all?: boolean;
  readonly from?: string;
  readonly confirm?: boolean;
  readonly runtime: string;
}

async function design(file: string, dir: string | undefined, cwd: string): Promise<Design> {
  const loaded = await loadTopologyWithConfigs(resolve(cwd, file));
  if (dir === undefined) return { ...loaded, label: file };
  const laid = await applyConfigDir(loaded.topology, loaded.configs, resolve(cwd, dir));
  return { ...laid, label: `${file} + ${dir}` };
}

export async function diffCommand(files: readonly string[], flags: DiffFlags): Promise<number> {
  const cwd = process.cwd();
  const dirs = flags.before !== undefined || flags.after !== undefined;
  if (dirs ? files.length !== 1 : files.length !== 2)
    throw new InputError(
      'E_CLI_ARGS',
      dirs
        ? `with --before/--after give one topology (the design both directories are laid over), got ${files.length}`
        : `give two topologies (before.yaml after.yaml), or one with --before DIR --after DIR; got ${files.length}`,
    );
  if (flags.json && flags.markdown)
    throw new InputError('E_CLI_OPTION', '--json and --markdown exclude each other');
  const [first, second] = files as [string, string?];
  const before = await design(first, flags.before, cwd);
  const after = await design(second ?? first, flags.after, cwd);
  const origins = flags.from
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  let diff = await diffDesigns(before, after, origins ? { origins } : {});
  if (flags.confirm) {
    const registry = await runtimeRegistry(flags.runtime);
    const runtime = await registry.ready(flags.runtime);
    diff = await confirmDiff(diff, before, after, runtime);
  }
  const options = flags.all ? { listLimit: Number.POSITIVE_INFINITY } : {};
  process.stdout.write(
    flags.json
      ? diffJson(diff)
      : flags.markdown
        ? renderDiffMarkdown(diff, options)
        : renderDiffText(diff, options),
  );
  return diff.changes.length === 0 ? 0 : 1;
}

export function register(program: Command): void {
  program
    .command('diff')
    .description(
      'every request class whose outcome differs between two designs (exit 0 no change, 1 changes, 2 bad input)',
    )
    .argument('<topology...>', 'before.yaml after.yaml, or one topology with --before/--after directories')
    .option(
      '--before <dir>',
      'config files laid over the topology for the before side: <dir>/<host>/sockd.conf, socks.conf, sockd.route, user files',
    )
    .option('--after <dir>', 'the same for the after side')
    .option('--from <hosts>', 'only classes from these origin hosts (comma-separated)')
    .option('--json', 'every change as JSON')
    .option('--markdown', 'a Markdown comment for a pull request')
    .option('--all', 'list every changed class even when there are many (default: grouped past 40)')
    .option('--confirm', 'bring both designs up and replay every changed witness live')
    .option('--runtime <name>', 'runtime for --confirm: local, netns or docker', 'local')
    .action(async (files: string[], flags: DiffFlags) => {
      process.exitCode = await diffCommand(files, flags);
    });
}
