import type { Command } from 'commander';

/**
 * `sockslab reap` — remove what killed runs left behind: containers and networks labelled
 * `sockslab.lab=true` whose owning process no longer exists. `--all` removes live labs too.
 */
export function register(program: Command): void {
  program
    .command('reap')
    .description('remove Docker containers and networks left behind by killed runs')
    .option('--all', 'also remove labs whose owner process is still running')
    .option('--dry-run', 'list what would be removed, remove nothing')
    .action(async (options: { all?: boolean; dryRun?: boolean }) => {
      // Loaded here, not at the top: every other sockslab command starts without container code.
      const { dockerEngine, listRuns, ownerAlive, reapRuns } = await import('../../runtime/docker/index.ts');
      const engine = await dockerEngine();
      const all = options.all === true;
      const runs = options.dryRun
        ? (await listRuns(engine)).filter((r) => all || !ownerAlive(r.ownerPid))
        : await reapRuns(engine, { all });
      const verb = options.dryRun ? 'would remove' : 'removed';
      for (const r of runs) {
        process.stdout.write(
          `${verb} ${r.runId} (${r.topology}, owner pid ${r.ownerPid ?? '?'}): ${r.containers} containers, ${r.networks} networks\n`,
        );
      }
      if (runs.length === 0) process.stdout.write('nothing to reap\n');
    });
}
