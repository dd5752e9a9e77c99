import type { SocksReply } from '../client/handshake.ts';
import { errorCode } from '../common/errors.ts';
import { type Endpoint, sinkWants } from '../common/events.ts';
import { parseDottedQuad } from '../common/inet-address.ts';
import type { RouteConfig } from '../config/ast.ts';
import type { Conn, Listener } from '../net/net.ts';
import type { RouteDecision } from '../policy/client-route.ts';
import { hostFromAddress } from '../policy/host.ts';
import { chooseInterface, noInterfaceMessage } from '../policy/interface-choice.ts';
import { serviceLabel } from '../policy/request-desc.ts';
import { dialUpstream, upstreamErrno, upstreamGrant } from './connect-upstream.ts';
import type { ServerRules } from './options.ts';
import { socks4CodeFor, socks5RepFor, systemErrorText, unknownHostText } from './replies.ts';
import { isUnusable, noop, type RunState, type SessionSteps } from './session-steps.ts';

/**
 * BIND (b.5, d.9): listen for the peer ourselves and send both replies, or pass the BIND on to
 * an upstream server and forward its two replies; then relay.
 */

export async function bindDirect(s: SessionSteps, run: RunState, rules: ServerRules): Promise<void> {
  const ctx = s.ctx;
  const { req, dst } = run;
  if (req.hostname !== undefined && dst.addresses.length === 0) {
    return s.fail(run, { kind: 'unresolved' }, 'gethostbyname()', unknownHostText);
  }
  let iface = '0.0.0.0';
  if (ctx.multihomed) {
    const route = rules.route;
    if (!route || isUnusable(route)) {
      if (route && isUnusable(route)) for (const m of route.unusable) s.log('err', m);
      else s.log('err', `Unable to open routing file (${ctx.routePath})`);
      s.sendFailure(req, { kind: 'no-route' });
      return s.finish('no-route-file');
    }
    const choice = chooseInterface(route as RouteConfig, dst);
    if (sinkWants(ctx.events, 'interface')) {
      s.emit({
        type: 'interface',
        purpose: 'bind',
        iface: choice?.iface ?? null,
        rule: choice?.rule ?? null,
        ...(choice ? { text: choice.text } : {}),
      });
    }
    if (!choice) {
      s.log('err', noInterfaceMessage(dst));
      s.sendFailure(req, { kind: 'no-route' });
      return s.finish('no-route');
    }
    iface = choice.iface;
  }
  let peer: Conn | null = null;
  let onPeer!: (c: Conn) => void;
  const peerArrived = new Promise<Conn | null>((resolve) => {
    onPeer = (c) => resolve(c);
    s.onGone(() => resolve(null));
    s.onFinish(() => resolve(null));
  });
  let listener: Listener;
  try {
    listener = await ctx.net.listen({ host: iface, port: 0, backlog: 1 }, (c) => {
      c.socket.on('error', noop);
      if (peer) {
        c.socket.destroy();
        return;
      }
      peer = c;
      onPeer(c);
    });
  } catch (err) {
    const code = errorCode(err);
    return s.fail(run, { kind: 'errno', code }, 'bind()', systemErrorText(code));
  }
  s.bindListener = listener;
  if (s.finished) {
    void listener.close();
    return;
  }
  const firstAddress =
    req.version === 5 && listener.local.address === '0.0.0.0' ? s.conn.local.address : iface;
  const first: Endpoint = { address: firstAddress, port: listener.local.port };
  s.sendGranted(req, 'first', first);
  s.watchClientWhileWaiting();
  const got = await peerArrived;
  void listener.close();
  s.bindListener = null;
  if (!got || s.finished) {
    got?.socket.destroy();
    if (!s.finished) s.finish('client-gone');
    return;
  }
  s.clearEstablishTimer();
  const peerAddr = got.remote.address;
  const allowed =
    dst.dotted === '0.0.0.0' && req.hostname === undefined
      ? true
      : req.hostname !== undefined
        ? dst.addresses.includes(parseDottedQuad(peerAddr) ?? -1)
        : peerAddr === (req.version === 5 ? req.address : dst.dotted);
  const peerHost = await hostFromAddress(ctx.resolver, peerAddr);
  const peerServ = serviceLabel(got.remote.port, (p) => ctx.services.nameOf(p));
  if (s.finished) {
    got.socket.destroy();
    return;
  }
  if (!allowed) {
    s.log(
      'notice',
      `failed -- ${run.reqdesc}. Error: connected to wrong host ${peerHost.display} (${peerServ})`,
    );
    got.socket.destroy();
    const code =
      req.version === 4 ? socks4CodeFor({ kind: 'wrong-peer' }) : socks5RepFor({ kind: 'wrong-peer' });
    s.sendFinalReply(req, code, 'second', first);
    return s.finish('wrong-peer');
  }
  s.outbound = got.socket;
  if (sinkWants(s.ctx.events, 'outbound')) {
    s.emit({ type: 'outbound', local: got.local, remote: got.remote, via: 'bind' });
  }
  s.sendGranted(req, 'second', got.remote);
  s.log('notice', `connected -- ${run.reqdesc} (${peerServ})`);
  s.startRelay(run, got.socket, 0, null, peerHost.display, peerServ);
}

export async function bindViaUpstream(s: SessionSteps, run: RunState, route: RouteDecision): Promise<void> {
  const up = await dialUpstream(s, run, route);
  if (!up) return;
  const { req } = run;
  const sock = up.conn.socket;
  const exchange = await upstreamGrant(s, run, up.conn, 'bind()');
  if (!exchange) return;
  const first = exchange.first.endpoint;
  // d.9: an upstream wildcard answer means "the server you talk to".
  const bound: Endpoint = {
    address: first.address === '0.0.0.0' ? up.conn.remote.address : first.address,
    port: first.port,
  };
  s.sendGranted(req, 'first', bound);
  s.watchClientWhileWaiting();
  const secondP = exchange.second();
  const gone = new Promise<null>((resolve) => {
    s.onGone(() => resolve(null));
  });
  let second: SocksReply | null;
  try {
    second = await Promise.race([secondP, gone]);
  } catch (err) {
    if (s.finished) return;
    s.stopWatching();
    return s.fail(
      run,
      { kind: 'upstream-rejected', code: null },
      'accept()',
      systemErrorText(upstreamErrno(err)),
      bound,
    );
  }
  if (!second || s.finished) {
    sock.destroy();
    if (!s.finished) s.finish('client-gone');
    return;
  }
  // Stop reading now: what follows the second reply is the peer's data, for the relay.
  const rest = exchange.finish();
  s.clearEstablishTimer();
  const peer: Endpoint = second.endpoint;
  const peerServ = serviceLabel(peer.port, (p) => s.ctx.services.nameOf(p));
  if (!second.granted) {
    // The upstream checked the peer and logged it; we only know that it said no.
    s.log('notice', `failed -- ${run.reqdesc}.  Error code: accept() ${systemErrorText('ECONNREFUSED')}`);
    s.stopWatching();
    sock.destroy();
    // d.9: SOCKS 4 gets the upstream's code unchanged (VN 0); SOCKS 5 the wrong-peer REP.
    const code = req.version === 4 ? second.code : socks5RepFor({ kind: 'wrong-peer' });
    s.sendFinalReply(req, code, 'second', peer);
    return s.finish('upstream-wrong-peer');
  }
  s.sendGranted(req, 'second', peer);
  const peerHost = await hostFromAddress(s.ctx.resolver, peer.address);
  s.log('notice', `connected -- ${run.reqdesc} (${peerServ})`);
  s.startRelay(run, sock, 16, rest, peerHost.display, peerServ);
}
