import { sinkWants } from '../common/events.ts';
import type { Conn } from '../net/net.ts';
import type { RouteDecision } from '../policy/client-route.ts';
import { describeRoutedCall } from '../policy/request-desc.ts';
import { decodeSocks4Reply, encodeSocks4Request, type Socks4ReplyMessage } from '../protocol/socks4.ts';
import { dialWithFailover } from './failover.ts';
import { readMessage } from './read-message.ts';
import { errnoOf, Socks4Code, systemErrorText } from './replies.ts';
import { grantConnect, noop, type RunState, type SessionSteps } from './session-steps.ts';

/**
 * CONNECT through an upstream SOCKS server (d.7, d.8): dial the route's servers with fail-over,
 * send our client's request on as SOCKS 4/4A, and relay once the upstream grants it.
 */

export async function connectViaUpstream(
  s: SessionSteps,
  run: RunState,
  route: RouteDecision,
): Promise<void> {
  const up = await dialUpstream(s, run, route);
  if (!up) return;
  const reply = await upstreamGrant(s, run, up.conn, 'connect()');
  if (!reply) return;
  grantConnect(s, run, up.conn, 8, reply.rest);
}

/**
 * Send our client's request to the upstream (d.8) and read its reply, the first of two for BIND.
 * A reply other than 90 fails the session as refused (92/93 concern identd on our host, never our
 * client: always 91), as does a reply that never comes; null then, and when the session ended
 * meanwhile.
 */
export async function upstreamGrant(
  s: SessionSteps,
  run: RunState,
  upstream: Conn,
  what: 'connect()' | 'bind()',
): Promise<{ value: Socks4ReplyMessage; rest: Buffer } | null> {
  upstream.socket.write(upstreamRequest(run));
  let reply: { value: Socks4ReplyMessage; rest: Buffer };
  try {
    reply = await readMessage(upstream.socket, decodeSocks4Reply, 64);
  } catch (err) {
    if (!s.finished) {
      s.fail(
        run,
        { kind: 'upstream-rejected', code: null },
        what,
        systemErrorText(errnoOf(err) ?? 'ECONNRESET'),
      );
    }
    return null;
  }
  if (s.finished) return null;
  if (reply.value.code !== Socks4Code.Granted) {
    s.fail(run, { kind: 'upstream-rejected', code: reply.value.code }, what, systemErrorText('ECONNREFUSED'));
    return null;
  }
  return reply;
}

/** The upstream SOCKS 4/4A request (d.8): our client's USERID; 4A when the name did not resolve. */
export function upstreamRequest(run: RunState): Buffer {
  const { req, dst } = run;
  const user = req.user.replace(/\0/g, '');
  if (req.hostname !== undefined && dst.addresses.length === 0) {
    return encodeSocks4Request({
      command: req.command === 'bind' ? 'bind' : 'connect',
      port: req.port,
      hostname: req.hostname,
      user,
    });
  }
  return encodeSocks4Request({
    command: req.command === 'bind' ? 'bind' : 'connect',
    port: req.port,
    address: dst.dotted,
    user,
  });
}

/** d.7 fail-over: entries in order, each address with its own timer; only TCP failure moves on. */
export async function dialUpstream(
  s: SessionSteps,
  run: RunState,
  route: RouteDecision,
): Promise<{ conn: Conn; entry: string } | null> {
  const ctx = s.ctx;
  const { req, dst, dstServ, realUser } = run;
  const what = req.command === 'bind' ? 'bind()' : 'connect()';
  if (dst.addresses.length === 0 && req.hostname === undefined) {
    // SOCKS 5 IPv6 destinations cannot be expressed in the SOCKS 4 upstream protocol.
    s.fail(run, { kind: 'address-type-unsupported' }, what, systemErrorText('EAFNOSUPPORT'));
    return null;
  }
  if (route.servers.length === 0) {
    s.log('notice', 'Failed to connect to sockd at (none)');
    s.fail(run, { kind: 'upstream-unreachable' }, what, systemErrorText('ECONNREFUSED'));
    return null;
  }
  const result = await dialWithFailover(
    ctx.net,
    ctx.resolver,
    route.servers,
    ctx.upstreamPort,
    ctx.timers.upstreamConnect,
    {
      log: (m) => s.log('notice', m),
      attempt: (a) => s.emit({ type: 'upstream-attempt', ...a }),
      cancelled: () => s.finished,
    },
  );
  if (result.kind === 'cancelled') return null;
  if (result.kind === 'exhausted') {
    s.fail(run, { kind: 'upstream-unreachable' }, what, result.lastError);
    return null;
  }
  const conn = result.conn;
  conn.socket.on('error', noop); // until the relay takes over
  if (s.finished || s.gone) {
    conn.socket.destroy();
    s.finish('client-gone');
    return null;
  }
  s.outbound = conn.socket;
  if (sinkWants(s.ctx.events, 'outbound')) {
    s.emit({ type: 'outbound', local: conn.local, remote: conn.remote, via: 'upstream' });
  }
  const routed = describeRoutedCall({ command: req.command, user: req.user, realUser, dst, dstServ });
  s.log('notice', `${routed} using sockd at ${result.entry}`);
  return { conn, entry: result.entry };
}
