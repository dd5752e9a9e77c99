import type { Command } from 'commander';
import { dockerEngine, listRuns, removeRun } from '../../runtime/docker/index.ts';

/**
 * `sockslab down [RUN-ID...]` — remove labs that `sockslab up --runtime docker` left running:
 * the named runs, or every lab on this Docker engine when none is named. By label, never by name.
 */
export function register(program: Command): void {
  program
    .command('down')
    .description('remove running Docker labs (all of them, or the given run ids)')
    .argument('[run-ids...]', 'run ids as `sockslab up` printed them (default: every lab)')
    .action(async (runIds: string[]) => {
      const engine = await dockerEngine();
      const runs = await listRuns(engine);
      const chosen = runIds.length > 0 ? runIds : runs.map((r) => r.runId);
      for (const id of runIds) {
        if (!runs.some((r) => r.runId === id))
          process.stderr.write(`sockslab down: no lab with run id ${id}\n`);
      }
      for (const id of chosen) {
        const removed = await removeRun(engine, id);
        if (removed.containers + removed.networks === 0) continue;
        const topology = runs.find((r) => r.runId === id)?.topology ?? '?';
        process.stdout.write(
          `down ${id} (${topology}): ${removed.containers} containers, ${removed.networks} networks removed\n`,
        );
      }
      if (chosen.length === 0) process.stdout.write('no Docker labs are running\n');
    });
}
