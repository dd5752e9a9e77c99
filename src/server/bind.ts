import type { SocksReply } from '../client/handshake.ts';
import { errorCode } from '../common/errors.ts';
import { type Endpoint, sinkWants } from '../common/events.ts';
import { parseDottedQuad } from '../common/inet-address.ts';
import type { Conn, Listener } from '../net/net.ts';
import type { RouteDecision } from '../policy/client-route.ts';
import { hostFromAddress } from '../policy/host.ts';
import { serviceLabel } from '../policy/request-desc.ts';
import { dialUpstream, upstreamErrno, upstreamGrant } from './connect-upstream.ts';
import { bindInterface } from './interface-step.ts';
import type { ServerRules } from './options.ts';
import { replyCodeFor, socks5RepFor, systemErrorText, unknownHostText } from './replies.ts';
import { noop, type RunState, type SessionSteps } from './session-steps.ts';

/**
 * BIND (b.5, d.9): listen for the peer ourselves and send both replies (bindDirect: interface,
 * listenForPeer, first reply, answerPeer), or pass the BIND on to an upstream server and forward
 * its two replies (bindViaUpstream); then relay.
 */

export async function bindDirect(s: SessionSteps, run: RunState, rules: ServerRules): Promise<void> {
  const { req, dst } = run;
  if (req.hostname !== undefined && dst.addresses.length === 0) {
    return s.fail(run, { kind: 'unresolved' }, 'gethostbyname()', unknownHostText);
  }
  const iface = s.ctx.multihomed ? bindInterface(s, run, rules) : '0.0.0.0';
  if (iface === null) return; // refused and answered
  const listening = await listenForPeer(s, run, iface);
  if (listening === null) return; // failed and answered, or the session ended meanwhile
  const { listener, peerArrived } = listening;
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
  await answerPeer(s, run, got, first);
}

/**
 * The BIND's listener on `iface` (backlog 1; a second connection is closed at once) and the
 * promise of its peer, which resolves null when the client goes away or the session ends first.
 * Null when listening failed (answered) or the session ended meanwhile.
 */
async function listenForPeer(
  s: SessionSteps,
  run: RunState,
  iface: string,
): Promise<{ listener: Listener; peerArrived: Promise<Conn | null> } | null> {
  let peer: Conn | null = null;
  let onPeer!: (c: Conn) => void;
  const peerArrived = new Promise<Conn | null>((resolve) => {
    onPeer = (c) => resolve(c);
    s.onGone(() => resolve(null));
    s.onFinish(() => resolve(null));
  });
  let listener: Listener;
  try {
    listener = await s.ctx.net.listen({ host: iface, port: 0, backlog: 1 }, (c) => {
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
    s.fail(run, { kind: 'errno', code }, 'bind()', systemErrorText(code));
    return null;
  }
  s.bindListener = listener;
  if (s.finished) {
    void listener.close();
    return null;
  }
  return { listener, peerArrived };
}

/**
 * b.5: the peer must come from the destination the request named: any host when it named
 * 0.0.0.0, one of the name's addresses when it named a host by name.
 */
function peerAllowed(run: RunState, peerAddr: string): boolean {
  const { req, dst } = run;
  if (dst.dotted === '0.0.0.0' && req.hostname === undefined) return true;
  if (req.hostname !== undefined) return dst.addresses.includes(parseDottedQuad(peerAddr) ?? -1);
  return peerAddr === (req.version === 5 ? req.address : dst.dotted);
}

/** The peer has connected: refuse a wrong one with the second reply, or grant it and relay. */
async function answerPeer(s: SessionSteps, run: RunState, got: Conn, first: Endpoint): Promise<void> {
  const { req } = run;
  const ctx = s.ctx;
  const allowed = peerAllowed(run, got.remote.address);
  const peerHost = await hostFromAddress(ctx.resolver, got.remote.address);
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
    s.sendFinalReply(req, replyCodeFor(req.version, { kind: 'wrong-peer' }), 'second', first);
    return s.finish('wrong-peer');
  }
  s.outbound = got.socket;
  if (sinkWants(s.ctx.events, 'outbound')) {
    s.emit({ type: 'outbound', local: got.local, remote: got.remote, via: 'bind' });
  }
  s.sendGranted(req, 'second', got.remote);
  s.log('notice', `connected -- ${run.reqdesc} (${peerServ})`);
  const peer = { socket: got.socket, handshakeBytes: 0, early: null, host: peerHost.display, serv: peerServ };
  s.startRelay(run, peer);
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
  s.startRelay(run, {
    socket: sock,
    handshakeBytes: 16,
    early: rest,
    host: peerHost.display,
    serv: peerServ,
  });
}
