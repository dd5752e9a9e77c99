import type { Command } from 'commander';
import { processAlive } from '../../common/process-alive.ts';
import type { EngineEndpoint } from '../../runtime/docker/endpoint.ts';
import { recordedLabStates, removeLabState, stateDir } from '../lab-state.ts';
import { dockerEndpoint } from '../runtimes.ts';

/**
 * `sockslab reap` — remove what killed runs left behind, on every runtime that leaves something:
 * Docker containers, networks and firewall rules labelled `sockslab.lab=true` (on the engine
 * DOCKER_HOST names and on every engine a lab state file recorded), and network
 * namespaces named `sockslab-<run>-p<owner>-…`, whose owning process no longer exists.
 * `--all` removes live labs too. A runtime that is not usable here is reported and skipped.
 */
export function register(program: Command): void {
  program
    .command('reap')
    .description('remove Docker containers/networks and network namespaces left behind by killed runs')
    .option('--all', 'also remove labs whose owner process is still running')
    .option('--dry-run', 'list what would be removed, remove nothing')
    .option('--state-dir <dir>', 'where `sockslab up` leaves its state files (engines of Docker labs)')
    .action(async (options: { all?: boolean; dryRun?: boolean; stateDir?: string }) => {
      const all = options.all === true;
      const verb = options.dryRun ? 'would remove' : 'removed';
      let found = 0;
      const out = (line: string) => {
        found++;
        process.stdout.write(`${line}\n`);
      };

      // Loaded here, not at the top: every other sockslab command starts without container code.
      const docker = await import('../../runtime/docker/index.ts');
      // The engine DOCKER_HOST names, and every engine a lab state file says a lab was brought up
      // on (a lab on another engine, whose `up` was killed, is reaped there).
      const states = await recordedLabStates(stateDir(options.stateDir));
      const endpoints = new Map<string, EngineEndpoint>();
      const current = dockerEndpoint(docker);
      endpoints.set(current.url, current);
      for (const { state } of states) {
        if (!state.engine) continue;
        try {
          const e = docker.parseDockerHost(state.engine);
          endpoints.set(e.url, e);
        } catch (err) {
          process.stderr.write(`docker: skipped engine of lab ${state.name} (${(err as Error).message})\n`);
        }
      }
      for (const endpoint of endpoints.values()) {
        // Named only when it is not the usual engine, so the common output stays as it was.
        const on = endpoint.url === docker.DefaultDockerHost ? '' : ` on ${endpoint.url}`;
        try {
          const engine = await docker.dockerEngine(docker.engineAt(endpoint));
          const runs = options.dryRun
            ? (await docker.listRuns(engine)).filter((r) => all || !docker.ownerAlive(r.ownerPid))
            : await docker.reapRuns(engine, { all });
          for (const r of runs) {
            const what = `docker run ${r.runId}${on} (${r.topology}, owner pid ${r.ownerPid ?? '?'}): ${r.containers} containers, ${r.networks} networks`;
            if (r.error) {
              process.stderr.write(`could not remove ${what}: ${r.error}\n`);
              process.exitCode = 1;
            } else out(`${verb} ${what}`);
          }
        } catch (err) {
          process.stderr.write(
            `docker${on}: skipped (${err instanceof Error ? err.message : String(err)})\n`,
          );
        }
      }
      // State files of labs whose process is gone say nothing true any more.
      if (!options.dryRun) {
        for (const { file, state } of states) if (!processAlive(state.pid)) await removeLabState(file);
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
