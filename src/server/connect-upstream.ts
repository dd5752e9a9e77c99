import { dialWithFailover } from '../client/failover.ts';
import { type SocksExchange, type SocksRequest, socksExchange } from '../client/handshake.ts';
import { errorCode } from '../common/errors.ts';
import { sinkWants } from '../common/events.ts';
import type { Conn } from '../net/net.ts';
import type { RouteDecision } from '../policy/client-route.ts';
import { describeRoutedCall, routeViaLog, upstreamFailedLog } from '../policy/request-desc.ts';
import { systemErrorText } from './replies.ts';
import { grantConnect, noop, type RunState, type SessionSteps } from './session-steps.ts';

/**
 * CONNECT through an upstream SOCKS server (d.7, d.8): dial the route's servers with fail-over,
 * send our client's request on as SOCKS 4/4A, and relay once the upstream grants it. The SOCKS
 * client side is client/'s (design.md: the server reaches upstreams only through client/); this
 * module adds the server's part: its log lines, events, reply codes and session state.
 */

export async function connectViaUpstream(
  s: SessionSteps,
  run: RunState,
  route: RouteDecision,
): Promise<void> {
  const up = await dialUpstream(s, run, route);
  if (!up) return;
  const exchange = await upstreamGrant(s, run, up.conn, 'connect()');
  if (!exchange) return;
  grantConnect(s, run, up.conn, 8, exchange.finish());
}

/**
 * Send our client's request to the upstream (d.8) and read its reply, the first of two for BIND.
 * A reply other than 90 fails the session as refused (92/93 concern identd on our host, never our
 * client: always 91), as does a reply that never comes; null then, and when the session ended
 * meanwhile. No timer of its own: the session's establish timer closes the upstream socket.
 */
export async function upstreamGrant(
  s: SessionSteps,
  run: RunState,
  upstream: Conn,
  what: 'connect()' | 'bind()',
): Promise<SocksExchange | null> {
  let exchange: SocksExchange;
  try {
    exchange = await socksExchange(upstream, upstreamRequest(run), {});
  } catch (err) {
    if (!s.finished) {
      s.fail(run, { kind: 'upstream-rejected', code: null }, what, systemErrorText(upstreamErrno(err)));
    }
    return null;
  }
  if (s.finished) return null;
  if (!exchange.first.granted) {
    s.fail(
      run,
      { kind: 'upstream-rejected', code: exchange.first.code },
      what,
      systemErrorText('ECONNREFUSED'),
    );
    return null;
  }
  return exchange;
}

/**
 * The errno a failed upstream reply read stands for in the log line: the upstream closing before
 * its reply is a reset, as is anything without an errno code.
 */
export function upstreamErrno(err: unknown): string {
  const code = errorCode(err);
  if (code === 'E_CLIENT_TOO_LONG') return 'EMSGSIZE';
  return code === undefined || code === 'E_CLIENT_CLOSED' ? 'ECONNRESET' : code;
}

/** The upstream SOCKS 4/4A request (d.8): our client's USERID; 4A when the name did not resolve. */
export function upstreamRequest(run: RunState): SocksRequest {
  const { req, dst } = run;
  const command = req.command === 'bind' ? 'bind' : 'connect';
  const user = req.user.replace(/\0/g, '');
  if (req.hostname !== undefined && dst.addresses.length === 0) {
    return { protocol: 'socks4a', command, host: req.hostname, asName: true, port: req.port, user };
  }
  return { protocol: 'socks4', command, host: dst.dotted, port: req.port, user };
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
    s.log('notice', upstreamFailedLog(null));
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
  s.log('notice', routeViaLog(routed, result.entry));
  return { conn, entry: result.entry };
}
