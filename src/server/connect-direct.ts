import { errorCode } from '../common/errors.ts';
import { sinkWants } from '../common/events.ts';
import type { Conn } from '../net/net.ts';
import { connectInterface } from './interface-step.ts';
import type { ServerRules } from './options.ts';
import { systemErrorText, unknownHostText } from './replies.ts';
import { grantConnect, isIp, noop, type RunState, type SessionSteps } from './session-steps.ts';

/**
 * CONNECT straight to the destination (b.4): dial it (from the route's interface with
 * --route-connect), reply, relay.
 */

export async function connectDirect(s: SessionSteps, run: RunState, rules: ServerRules): Promise<void> {
  const ctx = s.ctx;
  const { req, dst } = run;
  if (req.hostname !== undefined && dst.addresses.length === 0 && !isIp(req.hostname)) {
    return s.fail(run, { kind: 'unresolved' }, 'gethostbyname()', unknownHostText);
  }
  // A name that is itself an address literal (an IPv6 text in a SOCKS 5 domain field) is dialled as is.
  const literal = req.hostname !== undefined && dst.addresses.length === 0 ? req.hostname : undefined;
  const host = literal ?? (req.version === 5 && req.hostname === undefined ? req.address : dst.dotted);
  if (host === '0.0.0.0') return s.fail(run, { kind: 'unspecified' }, 'connect()', systemErrorText('EINVAL'));
  const localAddress = ctx.routeConnect && ctx.multihomed ? connectInterface(s, run, rules) : undefined;
  let out: Conn;
  try {
    out = await ctx.net.connect(
      localAddress === undefined
        ? { host, port: req.port, timeoutMs: ctx.timers.establish }
        : { host, port: req.port, timeoutMs: ctx.timers.establish, localAddress },
    );
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ETIMEDOUT' && s.finished) return;
    return s.fail(run, { kind: 'errno', code }, 'connect()', systemErrorText(code));
  }
  out.socket.on('error', noop); // until the relay takes over; an early RST must not crash us
  if (s.finished || s.gone) {
    out.socket.destroy();
    return s.finish('client-gone');
  }
  s.outbound = out.socket;
  if (sinkWants(s.ctx.events, 'outbound')) {
    s.emit({ type: 'outbound', local: out.local, remote: out.remote, via: 'direct' });
  }
  grantConnect(s, run, out, 0, null);
}
