/**
 * Releasing containers' network endpoints one at a time per network.
 *
 * dockerd 20.10 keeps a count of each network's endpoints and refuses to remove a network while it
 * is above zero. Creating an endpoint updates it under the network's lock; releasing one (a
 * disconnect, or a container's exit) does not, and two releases at once on one network can leave
 * the count too high (moby/moby#42119). The network then cannot be removed and holds its subnet
 * until the engine restarts: CI saw it in lab teardowns, several times a day. So every release
 * this process asks for on a network waits for the one before it on that network (inTurn);
 * different networks still release in parallel.
 */

/** A container to be torn down, with the ids of the networks it is on. */
export interface AttachedContainer {
  readonly id: string;
  /** By Docker name, the key of the network's turn. */
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

/** The last release this process asked for on each network (by its Docker name), settled. */
const turns = new Map<string, Promise<void>>();
const ignore = () => {};

/**
 * Runs `release` once every release this process asked for earlier on `network` has settled,
 * whoever asked: a lab's teardown can start while a `cut:` step is still disconnecting (a signal
 * ends the run). The result is `release`'s own; a failure does not hold up the releases after it.
 */
export function inTurn<T>(network: string, release: () => Promise<T>): Promise<T> {
  const result = (turns.get(network) ?? Promise.resolve()).then(release);
  const settled = result.then(ignore, ignore);
  turns.set(network, settled);
  void settled.then(() => {
    if (turns.get(network) === settled) turns.delete(network);
  });
  return result;
}

/**
 * Disconnects every container from each of its networks, in each network's turn, and removes
 * each container as soon as it has no endpoint left. Resolves with each container's removal (by
 * id) so callers can go on per container; a failed removal rejects that container's promise. A
 * disconnect the engine refuses leaves the endpoint to the removal, so the removal then runs in
 * that network's turn instead of beside the next disconnect.
 */
export function releaseAndRemove(
  containers: readonly AttachedContainer[],
  ops: EndpointOps,
): Map<string, Promise<void>> {
  const removals = new Map<string, Promise<void>>();
  const removeOnce = (id: string): Promise<void> => {
    let removal = removals.get(id);
    if (removal === undefined) removals.set(id, (removal = ops.remove(id)));
    return removal;
  };
  const released = new Map<string, Promise<void>[]>();
  for (const [network, chain] of releaseChains(containers)) {
    for (const id of chain) {
      const turn = inTurn(network, () =>
        ops.disconnect(network, id).catch(() => removeOnce(id).catch(ignore)),
      );
      released.set(id, [...(released.get(id) ?? []), turn]);
    }
  }
  return new Map(
    containers.map((c) => [c.id, Promise.all(released.get(c.id) ?? []).then(() => removeOnce(c.id))]),
  );
}

/** Releases `containers`' endpoints on one network in its turn, one after another (cutting it). */
export async function releaseSerially(
  network: string,
  containers: readonly string[],
  disconnect: (container: string) => Promise<unknown>,
): Promise<void> {
  for (const id of containers) await inTurn(network, () => disconnect(id));
}
