import { processAlive } from '../../common/process-alive.ts';
import { releaseAndRemove, releaseSerially } from './endpoint-release.ts';
import type { DockerEngine } from './engine.ts';
import { removeIsolation } from './firewall.ts';
import { LabLabel } from './labels.ts';

/**
 * Removal by label, never by name: a run's containers and networks (`sockslab down`, a lab's own
 * teardown, teardown after a failed start) and the leftovers of killed runs (`sockslab reap`).
 */

export interface RunSummary {
  readonly runId: string;
  readonly topology: string;
  readonly ownerPid: number | null;
  readonly containers: number;
  readonly networks: number;
  /** reapRuns: why this run could not be removed (it is still there). */
  readonly error?: string;
}

/** Already removed or being removed: by the engine's status code (the message holds hex ids, where "404" can occur). */
function isGone(err: unknown): boolean {
  const status = (err as { statusCode?: number } | null)?.statusCode;
  return status === 404 || status === 409 || /no such|not found|is already in progress/i.test(String(err));
}

/** How long a network removal waits for the engine to let go of a removed container's endpoint. */
const EndpointReleaseMs = 10_000;
/** After this long, the endpoints left are taken for stale ones and disconnected by force. */
const StaleEndpointMs = 1_500;

export interface RemovableNetwork {
  /** Its Docker name, the key of its releases' turn (endpoint-release.ts). */
  readonly name: string;
  remove(): Promise<unknown>;
  disconnect(options: { Container: string; Force: boolean }): Promise<unknown>;
}

/**
 * Removes a network whose containers have been removed. The engine can finish releasing a removed
 * container's endpoint after the removal call has returned (a disconnect it refused left the
 * endpoint to the removal): a removal refused for "active endpoints" is tried again. An endpoint
 * still there after StaleEndpointMs may have outlived its container (dockerd 20.10 can keep one,
 * and the network then blocks its subnet until the engine restarts), so the endpoints of
 * `members` (the run's containers that were on it, by name) are disconnected by force, as
 * `docker network disconnect -f` does, in the network's turn, and the removal goes on.
 */
export async function removeNetworkWhenFree(
  network: RemovableNetwork,
  members: readonly string[],
  waitMs = EndpointReleaseMs,
): Promise<void> {
  const started = Date.now();
  let forced = false;
  for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
    try {
      await network.remove();
      return;
    } catch (err) {
      if (isGone(err)) return;
      if (!/active endpoints/i.test(String(err)) || Date.now() + pause > started + waitMs) throw err;
    }
    if (!forced && Date.now() - started >= StaleEndpointMs) {
      forced = true;
      await releaseSerially(network.name, members, (name) =>
        network.disconnect({ Container: name, Force: true }).catch(() => {}),
      );
    }
    await new Promise((r) => setTimeout(r, pause));
  }
}

/**
 * Removes every container and network carrying `label`. Hosts are removed by force, not stopped
 * (the lab is being thrown away: a graceful stop costs a grace period per host), each once its
 * endpoints are released; each network goes as soon as the containers on it are gone, so the
 * engine's serial network teardown overlaps the rest. `afterKill` runs once nothing of the run is alive any more (its isolation rules).
 */
export async function removeByFilter(
  engine: DockerEngine,
  label: string,
  afterKill: () => Promise<void> = async () => {},
): Promise<{ containers: number; networks: number }> {
  const d = engine.dockerode;
  const filters = { label: [label] };
  const [containers, networks] = await Promise.all([
    d.listContainers({ all: true, filters }),
    d.listNetworks({ filters }),
  ]);
  // Each network's endpoints are released one at a time (endpoint-release.ts: two releases at
  // once on a network can leave dockerd 20.10 unable to remove it), and each host is removed by
  // force as soon as it has no endpoint left. No separate kill first either: a SIGKILL followed
  // at once by the removal would have the engine release the endpoints again, at the same time.
  // Who is on which network, by the network's Docker name (the key of its turn).
  const attached = containers.map((c) => ({
    id: c.Id,
    names: c.Names.map((name) => name.replace(/^\//, '')),
    networks: Object.keys(c.NetworkSettings?.Networks ?? {}),
  }));
  const removed = releaseAndRemove(attached, {
    disconnect: async (network, container) => {
      await d.getNetwork(network).disconnect({ Container: container, Force: true });
    },
    remove: async (container) => {
      try {
        await d.getContainer(container).remove({ force: true, v: true });
      } catch (err) {
        if (!isGone(err)) throw err;
      }
    },
  });
  const cleanup = Promise.allSettled([...removed.values()]).then(afterKill);
  const networksGone = networks.map(async (n) => {
    const on = attached.filter((c) => c.networks.includes(n.Name));
    await Promise.all(on.map((c) => removed.get(c.id)));
    const net = d.getNetwork(n.Id);
    await removeNetworkWhenFree(
      { name: n.Name, remove: () => net.remove(), disconnect: (o) => net.disconnect(o) },
      on.flatMap((c) => c.names),
    );
  });
  // allSettled first: nothing is left half-way in flight when one step fails.
  const outcomes = await Promise.allSettled([...removed.values(), ...networksGone, cleanup]);
  const failed = outcomes.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  // A network created after the listing (a start racing a teardown) goes in a second pass.
  const late = await d.listNetworks({ filters });
  await Promise.all(
    late.map((n) =>
      d
        .getNetwork(n.Id)
        .remove()
        .catch((err: unknown) => {
          if (!isGone(err)) throw err;
        }),
    ),
  );
  return { containers: containers.length, networks: networks.length + late.length };
}

export async function removeRun(
  engine: DockerEngine,
  runId: string,
): Promise<{ containers: number; networks: number }> {
  // The run's isolation rules go while the engine removes its containers (they are dead by then).
  return removeByFilter(engine, `${LabLabel.run}=${runId}`, () => removeIsolation(runId));
}

/** Every lab on this engine, grouped by run id. */
export async function listRuns(engine: DockerEngine): Promise<RunSummary[]> {
  const d = engine.dockerode;
  const filters = { label: [`${LabLabel.lab}=true`] };
  const [containers, networks] = await Promise.all([
    d.listContainers({ all: true, filters }),
    d.listNetworks({ filters }),
  ]);
  const runs = new Map<
    string,
    { topology: string; ownerPid: number | null; containers: number; networks: number }
  >();
  const entry = (labels: Record<string, string> | undefined) => {
    const runId = labels?.[LabLabel.run] ?? '(no run id)';
    let r = runs.get(runId);
    if (!r) {
      const pid = Number(labels?.[LabLabel.ownerPid]);
      r = {
        topology: labels?.[LabLabel.topology] ?? '?',
        ownerPid: Number.isInteger(pid) && pid > 0 ? pid : null,
        containers: 0,
        networks: 0,
      };
      runs.set(runId, r);
    }
    return r;
  };
  for (const c of containers) entry(c.Labels).containers++;
  for (const n of networks) entry(n.Labels).networks++;
  return [...runs].map(([runId, r]) => ({ runId, ...r }));
}

/**
 * Whether the process that brought a run up still exists on this machine. A run without an owner
 * label (null) has no owner to wait for.
 */
export function ownerAlive(pid: number | null): boolean {
  return pid !== null && processAlive(pid);
}

/** Removes runs whose owner process is gone (or every run with `all`); returns what was removed. */
export async function reapRuns(
  engine: DockerEngine,
  options: { readonly all?: boolean } = {},
): Promise<RunSummary[]> {
  const runs = await listRuns(engine);
  const doomed = runs.filter((r) => options.all === true || !ownerAlive(r.ownerPid));
  const out: RunSummary[] = [];
  for (const r of doomed) {
    // One run the engine will not let go (dockerd 20.10 can keep a stale endpoint on a network
    // after its containers are gone: "has active endpoints") must not keep the others.
    try {
      if (r.runId === '(no run id)') await removeByFilter(engine, `${LabLabel.lab}=true`);
      else await removeRun(engine, r.runId);
      out.push(r);
    } catch (err) {
      out.push({ ...r, error: err instanceof Error ? err.message : String(err) });
    }
  }
  // Isolation rules of runs that have no network any more (their process died mid-teardown).
  const live = new Set(runs.filter((r) => !doomed.includes(r)).map((r) => r.runId));
  await removeIsolation(null, (runId) => live.has(runId));
  return out;
}
