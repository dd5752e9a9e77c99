import type { Command } from 'commander';
import { processAlive } from '../../common/process-alive.ts';

/**
 * `sockslab reap` — remove what killed runs left behind, on every runtime that leaves something:
 * Docker containers, networks and firewall rules labelled `sockslab.lab=true`, and network
 * namespaces named `sockslab-<run>-p<owner>-…`, whose owning process no longer exists.
 * `--all` removes live labs too. A runtime that is not usable here is reported and skipped.
 */
export function register(program: Command): void {
  program
    .command('reap')
    .description('remove Docker containers/networks and network namespaces left behind by killed runs')
    .option('--all', 'also remove labs whose owner process is still running')
    .option('--dry-run', 'list what would be removed, remove nothing')
    .action(async (options: { all?: boolean; dryRun?: boolean }) => {
      const all = options.all === true;
      const verb = options.dryRun ? 'would remove' : 'removed';
      let found = 0;
      const out = (line: string) => {
        found++;
        process.stdout.write(`${line}\n`);
      };

      // Loaded here, not at the top: every other sockslab command starts without container code.
      const docker = await import('../../runtime/docker/index.ts');
      try {
        const engine = await docker.dockerEngine();
        const runs = options.dryRun
          ? (await docker.listRuns(engine)).filter((r) => all || !docker.ownerAlive(r.ownerPid))
          : await docker.reapRuns(engine, { all });
        for (const r of runs) {
          out(
            `${verb} docker run ${r.runId} (${r.topology}, owner pid ${r.ownerPid ?? '?'}): ${r.containers} containers, ${r.networks} networks`,
          );
        }
      } catch (err) {
        process.stderr.write(`docker: skipped (${err instanceof Error ? err.message : String(err)})\n`);
      }

      const netns = await import('../../runtime/netns/index.ts');
      try {
        const runs = options.dryRun
          ? (await netns.listNetnsRuns()).filter((r) => all || !processAlive(r.ownerPid))
          : await netns.reapNetnsRuns({ all });
        for (const r of runs) {
          out(
            `${verb} netns run ${r.runId} (owner pid ${r.ownerPid}): ${r.namespaces.length} namespaces, ${r.processes} processes`,
          );
        }
      } catch (err) {
        process.stderr.write(`netns: skipped (${err instanceof Error ? err.message : String(err)})\n`);
      }
      if (found === 0) process.stdout.write('nothing to reap\n');
    });
}
