import type { ResolvedTopology } from '../../topology/model.ts';
import { agentLabBasics } from '../agent-lab.ts';
import type { Lab, ProbeResult, Runtime, UpOptions } from '../runtime.ts';
import { DockerLab } from './docker-lab.ts';
import { type EngineConnector, engine, probeEngine } from './engine.ts';
import { ensureImage } from './image.ts';

/**
 * The Docker runtime (`docker`): each host a container with its own network stack, the real
 * rsockd/sockd CLI inside, real Docker networks with the topology's subnets.
 *
 * - Image: built locally, never pulled (image.ts): FROM scratch + this machine's node, /bin/sh and
 *   their libraries + production node_modules (base layer), + dist/ (host layer); tags carry a
 *   content hash, so only changed inputs are rebuilt.
 * - Networks (networks.ts): one internal network per topology network, the topology's subnet,
 *   a gateway address no host uses; per-run iptables rules make off-network traffic fail at once
 *   and keep lab hosts off the machine's own services (firewall.ts).
 * - Hosts (docker-lab.ts): fixed addresses, every network a host sits on, ip_forward=0, never the
 *   default bridge, DNS options that fail fast. Inside, the host agent (src/cli/host-agent.ts)
 *   runs the server CLI (which drops to the owner's uid itself, --user), the fake identd
 *   answering from /proc/net/tcp, echo services, and forwards events as JSON lines on stdout (the driver follows the logs).
 * - Probes run inside the origin container as the origin user's uid (`docker exec`); the driver
 *   never dials a lab address itself.
 * - Lifecycle: labels `sockslab.lab=true`, `sockslab.run=<id>` and the owner pid on everything;
 *   teardown in finally, also after a failed start; `sockslab down` and `sockslab reap` (sweep.ts).
 */

export interface DockerRuntimeOptions {
  /**
   * How to reach the engine (default: testcontainers' discovery, DOCKER_HOST or the local
   * socket); the CLI passes `engineAt(parseDockerHost(DOCKER_HOST))`.
   */
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
        ...agentLabBasics(upOptions),
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
export { DefaultDockerHost, type EngineEndpoint, parseDockerHost } from './endpoint.ts';
export { type DockerEngine, type EngineConnector, engine as dockerEngine, engineAt } from './engine.ts';
export { BaseRepository, ensureBaseImage, ensureImage, ImageLabel, ImageRepository } from './image.ts';
export { LabLabel } from './labels.ts';
export { listRuns, ownerAlive, type RunSummary, reapRuns, removeRun } from './sweep.ts';
