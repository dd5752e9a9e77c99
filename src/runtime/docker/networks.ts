import type { ResolvedTopology } from '../../topology/model.ts';
import { gatewayFor } from './addressing.ts';
import type { DockerEngine } from './engine.ts';
import { bridgeName } from './firewall.ts';
import { labLabels, networkName } from './labels.ts';

/**
 * One internal Docker network per topology network, with the topology's subnet. Internal: no NAT
 * to the outside and no published ports; the host keeps the gateway address, which no host of the
 * topology uses.
 *
 * Two labs of the same topology cannot exist at once (their subnets overlap), so a create that
 * fails with "Pool overlaps" releases everything this lab got and tries again after a random
 * pause: labs queue instead of failing, and no two can deadlock holding half of each other's
 * networks.
 */

export interface LabNetwork {
  readonly name: string;
  readonly dockerName: string;
  readonly subnet: string;
  readonly gateway: string;
}

export interface NetworkPlan {
  readonly networks: readonly LabNetwork[];
}

export function planNetworks(topology: ResolvedTopology, runId: string): NetworkPlan {
  return {
    networks: topology.networks.map((n) => {
      const used = topology.hosts.flatMap((h) =>
        h.interfaces.filter((i) => i.network === n.name).map((i) => i.address),
      );
      const gateway = gatewayFor(n.subnet, used);
      if (gateway === null)
        throw new Error(`network ${n.name}: subnet ${n.subnet} has no free address for Docker's gateway`);
      return { name: n.name, dockerName: networkName(runId, n.name), subnet: n.subnet, gateway };
    }),
  };
}

function isOverlap(err: unknown): boolean {
  return /overlaps/i.test(err instanceof Error ? err.message : String(err));
}

export async function removeNetworks(engine: DockerEngine, dockerNames: readonly string[]): Promise<void> {
  await Promise.all(
    dockerNames.map(async (name) => {
      try {
        await engine.dockerode.getNetwork(name).remove();
      } catch (err) {
        if (!/no such network|not found/i.test(String(err))) throw err;
      }
    }),
  );
}

export async function createNetworks(
  engine: DockerEngine,
  plan: NetworkPlan,
  topology: ResolvedTopology,
  runId: string,
  ownerPid: number,
  options: { readonly waitMs: number },
): Promise<void> {
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    const results = await Promise.allSettled(
      plan.networks.map(async (n) => {
        await engine.dockerode.createNetwork({
          Name: n.dockerName,
          Driver: 'bridge',
          Internal: true,
          CheckDuplicate: true,
          IPAM: { Driver: 'default', Config: [{ Subnet: n.subnet, Gateway: n.gateway }] },
          Labels: labLabels(runId, topology.name, n.name, ownerPid),
          // A known bridge name, so the isolation rules (firewall.ts) can name the interface.
          Options: { 'com.docker.network.bridge.name': bridgeName(n.dockerName) },
        });
        return n.dockerName;
      }),
    );
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!failure) return;
    await removeNetworks(
      engine,
      results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
    );
    const err: unknown = failure.reason;
    if (!isOverlap(err) || Date.now() > deadline) {
      const text = err instanceof Error ? err.message : String(err);
      throw new Error(
        isOverlap(err)
          ? `a subnet of topology ${topology.name} is still held by another Docker network (another lab, or leftovers: run sockslab reap): ${text}`
          : `cannot create the Docker networks of topology ${topology.name}: ${text}`,
        { cause: err },
      );
    }
    await new Promise((r) => setTimeout(r, 200 + Math.random() * 400));
  }
}
