import type { Endpoint, LabEvent } from '../../common/events.ts';
import type { ResolvedTopology } from '../../topology/model.ts';
import type { ProbeOutcome } from '../runtime.ts';

/**
 * Events reach the driver through each container's log stream, some time after the probe has its
 * answer, and under load a whole hop can still be on its way. What a request caused is known from
 * what already arrived, so we can tell what is still missing:
 * - the probe got a reply: the first hop's `request` from the probe's local endpoint;
 * - every session with a `request` ends with a `close`;
 * - every `outbound` to a lab server's port is some hop's `request` from that local endpoint, and
 *   every `outbound` to a lab echo port is an `echo` seen from that local endpoint.
 * Pure: the driver waits until this returns nothing (or a deadline passes).
 */

const at = (e: Endpoint) => `${e.address}:${e.port}`;

export function missingEvents(
  events: readonly LabEvent[],
  topology: ResolvedTopology,
  outcome: Pick<ProbeOutcome, 'reply' | 'local'>,
): string[] {
  const requests = new Map<string, LabEvent & { type: 'request' }>();
  const closed = new Set<string>();
  const echoPeers = new Set<string>();
  const key = (e: LabEvent) => `${e.host}/${e.service}/${e.session}`;
  for (const e of events) {
    if (e.type === 'request') requests.set(key(e), e);
    else if (e.type === 'close') closed.add(key(e));
    else if (e.type === 'echo') echoPeers.add(at(e.peer));
  }
  const requestFrom = new Set([...requests.values()].map((r) => at(r.client)));
  const missing: string[] = [];
  if (outcome.reply !== null && outcome.local && !requestFrom.has(at(outcome.local))) {
    missing.push(`request from the probe at ${at(outcome.local)}`);
  }
  for (const [k, r] of requests) if (!closed.has(k)) missing.push(`close of ${k} (client ${at(r.client)})`);
  for (const e of events) {
    if (e.type !== 'outbound') continue;
    const target = topology.hosts.find((h) => h.interfaces.some((i) => i.address === e.remote.address));
    if (!target) continue;
    if (target.server?.port === e.remote.port) {
      if (!requestFrom.has(at(e.local))) missing.push(`request on ${target.name} from ${at(e.local)}`);
    } else if (target.echo?.some((s) => s.port === e.remote.port)) {
      if (!echoPeers.has(at(e.local))) missing.push(`echo on ${target.name} from ${at(e.local)}`);
    }
  }
  return missing;
}
