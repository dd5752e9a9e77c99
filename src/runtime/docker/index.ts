import { newId } from '../../common/ids.ts';
import type { ResolvedTopology } from '../../topology/model.ts';
import type { Lab, ProbeResult, Runtime, UpOptions } from '../runtime.ts';
import { DockerLab } from './docker-lab.ts';
import { type EngineConnector, engine, probeEngine } from './engine.ts';
import { ensureImage } from './image.ts';

/**
 * The Docker runtime: each host a container with its own network stack, the real rsockd CLI
 * inside, real internal Docker networks with the topology's subnets. Register as `docker`.
 */

export interface DockerRuntimeOptions {
  /** How to reach the engine (default: testcontainers' discovery, DOCKER_HOST or the local socket). */
  readonly connect?: EngineConnector;
  /** Wait this long for overlapping subnets held by another lab to be released. */
  readonly networkWaitMs?: number;
  readonly readyTimeoutMs?: number;
}

export function createDockerRuntime(options: DockerRuntimeOptions = {}): Runtime {
  return {
    name: 'docker',
    probe(): Promise<ProbeResult> {
      return probeEngine(options.connect);
    },
    async up(topology: ResolvedTopology, upOptions: UpOptions = {}): Promise<Lab> {
      const e = await engine(options.connect);
      const image = await ensureImage(e);
      const lab = new DockerLab({
        engine: e,
        image,
        topology,
        runId: upOptions.runId ?? newId(),
        ownerPid: process.pid,
        ...(upOptions.events ? { events: upOptions.events } : {}),
        ...(upOptions.timeouts ? { timeouts: upOptions.timeouts } : {}),
        networkWaitMs: options.networkWaitMs ?? 120_000,
        readyTimeoutMs: options.readyTimeoutMs ?? 20_000,
      });
      await lab.start();
      return lab;
    },
  };
}

export const dockerRuntime: Runtime = createDockerRuntime();

export { DockerLab } from './docker-lab.ts';
export { type DockerEngine, type EngineConnector, engine as dockerEngine } from './engine.ts';
export { BaseRepository, ensureImage, ImageLabel, ImageRepository } from './image.ts';
export { LabLabel } from './labels.ts';
export { listRuns, ownerAlive, type RunSummary, reapRuns, removeRun } from './sweep.ts';
