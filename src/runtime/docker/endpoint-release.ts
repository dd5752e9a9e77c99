/**
 * Releasing containers' network endpoints one at a time per network.
 *
 * dockerd 20.10 keeps a count of each network's endpoints and refuses to remove a network while it
 * is above zero. Creating an endpoint updates it under the network's lock; releasing one (a
 * disconnect, or a container's exit) does not, and two releases at once on one network can leave
 * the count too high (moby/moby#42119). The network then cannot be removed and holds its subnet
 * until the engine restarts: CI saw it in lab teardowns, several times a day. So every release
 * a lab asks for on a network waits for the one before it on that network; different networks
 * still release in parallel.
 */

/** A container to be torn down, with the ids of the networks it is on. */
export interface AttachedContainer {
  readonly id: string;
  readonly networks: readonly string[];
}

export interface EndpointOps {
  /** `docker network disconnect -f`: releases the container's endpoint on the network. */
  disconnect(network: string, container: string): Promise<void>;
  /** Removes the container by force (it has no endpoint left by then). */
  remove(container: string): Promise<void>;
}

/**
 * Per network, its containers in release order: containers on several networks first, so that
 * their removal, which waits for every network's turn, is not left for last everywhere.
 */
export function releaseChains(containers: readonly AttachedContainer[]): Map<string, string[]> {
  const ordered = [...containers].sort((a, b) => b.networks.length - a.networks.length);
  const chains = new Map<string, string[]>();
  for (const c of ordered) {
    for (const n of c.networks) {
      const chain = chains.get(n) ?? [];
      chain.push(c.id);
      chains.set(n, chain);
    }
  }
  return chains;
}

/**
 * Disconnects every container from each of its networks, one release at a time per network, and
 * removes each container as soon as it has no endpoint left. Resolves with each container's
 * removal (by id) so callers can go on per container; a failed disconnect is not fatal (the
 * removal then releases that endpoint itself), a failed removal rejects that container's promise.
 */
export function releaseAndRemove(
  containers: readonly AttachedContainer[],
  ops: EndpointOps,
): Map<string, Promise<void>> {
  const released = new Map<string, Promise<unknown>[]>();
  for (const [network, chain] of releaseChains(containers)) {
    let previous: Promise<unknown> = Promise.resolve();
    for (const id of chain) {
      const mine = previous.then(() => ops.disconnect(network, id)).catch(() => {});
      previous = mine;
      released.set(id, [...(released.get(id) ?? []), mine]);
    }
  }
  return new Map(
    containers.map((c) => [c.id, Promise.all(released.get(c.id) ?? []).then(() => ops.remove(c.id))]),
  );
}

/** Releases `containers`' endpoints on one network, one at a time (cutting a network). */
export async function releaseSerially(
  containers: readonly string[],
  disconnect: (container: string) => Promise<unknown>,
): Promise<void> {
  for (const id of containers) await disconnect(id);
}
