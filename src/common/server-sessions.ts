import type { LabEvent } from './events.ts';

/**
 * Server sessions in a stream of lab events: which events are a SOCKS server's (not a probe's,
 * an identd's or an echo service's), and which of them belong to one session. Trace stitching
 * (scenario/stitch.ts) and the per-request event filter (runtime/request-events.ts) both start here.
 */

/** Events of a SOCKS server hop (not probe, identd or echo). */
export const isServer = (e: LabEvent): boolean => e.service === 'rsockd' || e.service === 'sockd';

/** One server session: host, service and the server's own session id. */
export const sessionKey = (e: LabEvent): string => `${e.host ?? ''}|${e.service}|${e.session ?? ''}`;

/** Every server session's events, in event order, by `sessionKey`. */
export function serverSessions(events: readonly LabEvent[]): Map<string, LabEvent[]> {
  const sessions = new Map<string, LabEvent[]>();
  for (const e of events) {
    if (!isServer(e)) continue;
    const key = sessionKey(e);
    let list = sessions.get(key);
    if (!list) sessions.set(key, (list = []));
    list.push(e);
  }
  return sessions;
}
