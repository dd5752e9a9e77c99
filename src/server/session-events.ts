import type { LabEvent } from '../common/events.ts';
import type { Conn } from '../net/net.ts';
import type { ParsedRequest } from './handshake.ts';
import type { SessionContext } from './session-steps.ts';

/** An event a session step reports, before the fields every session event carries. */
export type SessionEvent = Record<string, unknown> & { type: LabEvent['type'] };

/** `event` with the fields every session event carries: time, service, pid, session and host. */
export function stampEvent(ctx: SessionContext, session: string, event: SessionEvent): LabEvent {
  // Copied onto a literal rather than spread together with it: `{ ...base, ...event }` over these
  // varied shapes cost V8 about 4 µs an event, a quarter of rsockd's CPU per connection with
  // --metrics (the one sink that asks for every session's events). The key order is the same.
  const stamped: Record<string, unknown> = { t: ctx.clock.now(), service: ctx.mode, pid: ctx.pid, session };
  if (ctx.hostLabel !== undefined) stamped.host = ctx.hostLabel;
  return Object.assign(stamped, event) as unknown as LabEvent;
}

/** The `request` event: the request as read, with the connection's two ends (the first event of a lab trace's session). */
export function requestEvent(conn: Conn, req: ParsedRequest): SessionEvent {
  return {
    type: 'request',
    client: conn.remote,
    local: conn.local,
    version: req.version,
    command: req.command,
    dst: {
      // SOCKS 5 names have no wire address; 4A keeps its received 0.0.0.x (b.3).
      host: req.version === 5 && req.hostname !== undefined ? req.hostname : req.address,
      port: req.port,
      ...(req.hostname !== undefined ? { name: req.hostname } : {}),
    },
    user: req.user,
  };
}
