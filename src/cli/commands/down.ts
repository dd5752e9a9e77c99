import { readdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { InputError } from '../../common/errors.ts';
import { processAlive } from '../../common/process-alive.ts';
import { controlDown, type LabControlState } from '../../runtime/lab-control.ts';
import { readLabState, removeLabState, stateDir, stateFile } from '../lab-state.ts';
import { dockerEndpoint } from '../runtimes.ts';

/**
 * `sockslab down [NAME | RUN-ID ...]` — take labs down.
 * - A lab that `sockslab up` is serving (any runtime) is asked to stop through its control
 *   endpoint, and we wait for its process to end; with no names, every such lab in the state dir.
 * - A Docker run id whose `up` process is gone is removed by label (containers, networks, the
 *   run's isolation rules) on the engine DOCKER_HOST names; a served lab that does not stop is
 *   removed on the engine its state file recorded. `sockslab reap` does that for every run whose
 *   owner died.
 */

interface DownFlags {
  stateDir?: string;
  timeout: string;
}

async function runningLabs(dir: string): Promise<LabControlState[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const labs: LabControlState[] = [];
  for (const f of names) {
    const state = await readLabState(stateFile(dir, f.slice(0, -'.json'.length)));
    if (state) labs.push(state);
  }
  return labs;
}

/**
 * Removes a Docker run by label on the engine its lab lives on: the one its state file recorded,
 * else the one DOCKER_HOST names now.
 */
async function removeDockerRun(
  runId: string,
  engine?: string,
): Promise<{ containers: number; networks: number }> {
  // Loaded only when a Docker run is named: taking a local lab down needs no container code.
  const docker = await import('../../runtime/docker/index.ts');
  const endpoint = engine ? docker.parseDockerHost(engine) : dockerEndpoint(docker);
  return docker.removeRun(await docker.dockerEngine(docker.engineAt(endpoint)), runId);
}

/** Asks a served lab to stop and waits for its `up` process to end; a hung one is removed by label. */
async function stopServed(state: LabControlState, file: string, timeoutMs: number): Promise<string> {
  try {
    await controlDown(state);
  } catch (err) {
    process.stderr.write(`sockslab down: ${state.name}: control endpoint: ${(err as Error).message}\n`);
  }
  const deadline = Date.now() + timeoutMs;
  while (processAlive(state.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (!processAlive(state.pid)) return `down ${state.name} (runtime ${state.runtime}, run ${state.runId})`;
  if (state.runtime !== 'docker') {
    throw new InputError(
      'E_LAB_STUCK',
      `lab ${state.name} (pid ${state.pid}) did not stop; kill ${state.pid}`,
    );
  }
  const removed = await removeDockerRun(state.runId, state.engine);
  await removeLabState(file);
  return `down ${state.name} (run ${state.runId}): its process (pid ${state.pid}) did not stop; removed ${removed.containers} containers, ${removed.networks} networks`;
}

export function register(program: Command): void {
  program
    .command('down')
    .description(
      'take labs down: the ones `sockslab up` serves (all, or by topology name), or Docker run ids',
    )
    .argument('[names...]', 'topology names of served labs, or Docker run ids (default: every served lab)')
    .option('--state-dir <dir>', 'where `sockslab up` left its control files')
    .option('--timeout <seconds>', 'how long to wait for a lab to stop', '30')
    .action(async (names: string[], flags: DownFlags) => {
      const dir = stateDir(flags.stateDir);
      const timeoutMs = Number(flags.timeout) * 1000;
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
        throw new InputError(
          'E_CLI_OPTION',
          `--timeout must be a positive number of seconds, got ${flags.timeout}`,
        );
      }
      const served = await runningLabs(dir);
      if (names.length === 0) {
        if (served.length === 0) process.stdout.write(`no lab is up (state dir ${dir})\n`);
        for (const s of served)
          process.stdout.write(`${await stopServed(s, stateFile(dir, s.name), timeoutMs)}\n`);
        return;
      }
      const unknown: string[] = [];
      for (const name of names) {
        const s = served.find((x) => x.name === name || x.runId === name);
        if (s) {
          process.stdout.write(`${await stopServed(s, stateFile(dir, s.name), timeoutMs)}\n`);
          continue;
        }
        const removed = await removeDockerRun(name);
        if (removed.containers + removed.networks === 0) unknown.push(name);
        else {
          process.stdout.write(
            `down ${name}: ${removed.containers} containers, ${removed.networks} networks removed\n`,
          );
        }
      }
      if (unknown.length > 0) {
        const known = served.map((s) => s.name).join(', ') || 'none';
        throw new InputError(
          'E_LAB_UNKNOWN',
          `no lab called ${unknown.join(', ')}: not a lab served from ${dir} (served: ${known}) nor a Docker run id`,
        );
      }
    });
}
