import { processAlive } from '../../common/process-alive.ts';
import { ipBatch, listNamespaces, namespacePids } from './ip.ts';
import { parseNamespace } from './names.ts';
import { deleteNamespacesBatch } from './plan.ts';

/**
 * Removal of namespaces by name prefix: one run's (a lab's own teardown, also after a failed
 * start) and the leftovers of runs whose owner process died (`sockslab reap`). Processes are
 * found with `ip netns pids` and killed by PID; then the namespaces are deleted in one batch.
 */

export interface NetnsRunSummary {
  readonly runId: string;
  readonly ownerPid: number;
  readonly namespaces: readonly string[];
  /** Processes still running inside them (listing) or killed (reaping). */
  readonly processes: number;
}

async function gone(pids: readonly number[], waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (pids.some((p) => processAlive(p)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** SIGKILLs every process inside `namespaces`, then deletes them; returns how many were killed. */
export async function removeNamespaces(namespaces: readonly string[]): Promise<{ processes: number }> {
  const pids = (await Promise.all(namespaces.map((ns) => namespacePids(ns)))).flat();
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await gone(pids, 2_000);
  // -force: a namespace that is already gone must not stop the others from going.
  await ipBatch(deleteNamespacesBatch(namespaces), { force: true }).catch(() => {});
  return { processes: pids.length };
}

/** Every sockslab namespace on the machine, grouped by run. */
export async function listNetnsRuns(): Promise<NetnsRunSummary[]> {
  const runs = new Map<string, { runId: string; ownerPid: number; namespaces: string[] }>();
  for (const name of await listNamespaces()) {
    const parsed = parseNamespace(name);
    if (!parsed) continue;
    const key = `${parsed.runId}/${parsed.ownerPid}`;
    const run = runs.get(key) ?? { runId: parsed.runId, ownerPid: parsed.ownerPid, namespaces: [] };
    run.namespaces.push(name);
    runs.set(key, run);
  }
  return Promise.all(
    [...runs.values()].map(async (r) => ({
      ...r,
      processes: (await Promise.all(r.namespaces.map((ns) => namespacePids(ns)))).flat().length,
    })),
  );
}

/** Removes the namespaces of runs whose owner is dead (`all`: every sockslab run); returns them. */
export async function reapNetnsRuns(options: { readonly all?: boolean } = {}): Promise<NetnsRunSummary[]> {
  const runs = (await listNetnsRuns()).filter((r) => options.all === true || !processAlive(r.ownerPid));
  const out: NetnsRunSummary[] = [];
  for (const r of runs) {
    const { processes } = await removeNamespaces(r.namespaces);
    out.push({ ...r, processes });
  }
  return out;
}
