import type { Endpoint, LabEvent } from '../common/events.ts';
import { isServer, serverSessions } from '../common/server-sessions.ts';
import type { ResolvedTopology } from '../topology/model.ts';
import type { ProbeOutcome } from './runtime.ts';

/**
 * Which events of a lab belong to one probe, when other probes run at the same time (`run
 * --jobs`). A probe's server sessions form a chain from its own socket: the first hop is the
 * session whose client is the probe's local endpoint, each next hop the session whose client is
 * a chain session's outbound local endpoint. Server sessions outside that chain are other
 * requests' and are left out; events that are not a server's (echo, identd-served, the probe's
 * own) stay, because stitching matches them by endpoint and never by "the only one around".
 *
 * Pure: the runner stitches and settles on this subset, and the agent labs wait for it to be
 * complete, so a request never waits for, nor borrows, another request's sessions.
 */

type Of<T extends LabEvent['type']> = Extract<LabEvent, { type: T }>;

const at = (e: Endpoint) => `${e.address}:${e.port}`;

/** Server session keys of the chain that starts at `local`, with each session's events. */
export function requestChain(events: readonly LabEvent[], local: Endpoint): Map<string, LabEvent[]> {
  const sessions = serverSessions(events);
  const clientOf = (list: readonly LabEvent[]): string | undefined => {
    for (const e of list) {
      if (e.type === 'request') return at(e.client);
      if (e.type === 'close' && e.client) return at(e.client);
    }
    return undefined;
  };
  const byClient = new Map<string, string[]>();
  for (const [key, list] of sessions) {
    const client = clientOf(list);
    if (client === undefined) continue;
    byClient.set(client, [...(byClient.get(client) ?? []), key]);
  }
  const chain = new Map<string, LabEvent[]>();
  const pending = [at(local)];
  const seen = new Set<string>();
  while (pending.length > 0) {
    const endpoint = pending.pop() as string;
    if (seen.has(endpoint)) continue;
    seen.add(endpoint);
    for (const key of byClient.get(endpoint) ?? []) {
      if (chain.has(key)) continue;
      const list = sessions.get(key) ?? [];
      chain.set(key, list);
      for (const e of list) if (e.type === 'outbound') pending.push(at(e.local));
    }
  }
  return chain;
}

/**
 * The events of the window that concern this probe: every event that is not a server's, and the
 * server events of the probe's chain. Without a local endpoint (the probe never connected, or its
 * runner failed) no server session can be told to be this probe's: none is kept.
 */
export function requestEvents(events: readonly LabEvent[], outcome: Pick<ProbeOutcome, 'local'>): LabEvent[] {
  if (!outcome.local) return events.filter((e) => !isServer(e));
  const chain = requestChain(events, outcome.local);
  const keep = new Set<LabEvent>();
  for (const list of chain.values()) for (const e of list) keep.add(e);
  return events.filter((e) => !isServer(e) || keep.has(e));
}

/**
 * What of this probe's chain has not arrived yet (empty: complete):
 * - the probe connected to a server (not by a direct route): the first hop's `request`, or the
 *   `close` of a session that ended before one;
 * - every chain session ends with a `close`, and an identd answer it got with the `identd-served`
 *   of the identd that gave it;
 * - every chain `outbound` to a lab server's port is the next hop's `request`, and every one to a
 *   lab echo port (and the probe's own direct connection) is seen by that echo service.
 */
export function missingRequestEvents(
  events: readonly LabEvent[],
  topology: ResolvedTopology,
  outcome: Pick<ProbeOutcome, 'local' | 'clientRoute'>,
): string[] {
  const local = outcome.local;
  if (!local) return [];
  const chain = requestChain(events, local);
  const echoPeers = new Set(events.flatMap((e) => (e.type === 'echo' ? [at(e.peer)] : [])));
  const served = events.filter((e): e is Of<'identd-served'> => e.type === 'identd-served');
  const clients = new Set<string>();
  const missing: string[] = [];
  for (const [key, list] of chain) {
    const request = list.find((e): e is Of<'request'> => e.type === 'request');
    if (request) clients.add(at(request.client));
    const closed = list.find((e): e is Of<'close'> => e.type === 'close');
    if (closed?.client) clients.add(at(closed.client));
    if (!closed) missing.push(`close of ${key}`);
    // An identd that answered served the query: its own event comes from another process and
    // may arrive after the hop's (the trace names the behaviour that answered from it).
    const asked = list.find((e): e is Of<'identd'> => e.type === 'identd');
    if (request && asked && asked.answer !== null) {
      const query = `${request.client.port},${request.local.port}`;
      const answeredBy = served.some(
        (s) => s.peer.address === request.local.address && s.query.replace(/\s+/g, '') === query,
      );
      if (!answeredBy) missing.push(`identd-served on ${asked.queried.address} for ${key}`);
    }
  }
  const direct = outcome.clientRoute?.action === 'direct';
  if (!direct && !clients.has(at(local))) {
    missing.push(`first hop from the probe at ${at(local)}`);
  }
  const expect = (remote: Endpoint, from: Endpoint) => {
    const target = topology.hosts.find((h) => h.interfaces.some((i) => i.address === remote.address));
    if (!target) return;
    if (target.server?.port === remote.port) {
      if (!clients.has(at(from))) missing.push(`request on ${target.name} from ${at(from)}`);
    } else if (target.echo?.some((s) => s.port === remote.port)) {
      if (!echoPeers.has(at(from))) missing.push(`echo on ${target.name} from ${at(from)}`);
    }
  };
  for (const list of chain.values()) {
    for (const e of list) if (e.type === 'outbound' && e.via !== 'bind') expect(e.remote, e.local);
  }
  if (direct) {
    const out = events.find(
      (e): e is Of<'outbound'> => e.type === 'outbound' && e.service === 'probe' && at(e.local) === at(local),
    );
    if (out) expect(out.remote, out.local);
  }
  return missing;
}
