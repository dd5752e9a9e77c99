import type { Clock } from '../common/clock.ts';
import type { Endpoint, EventSink, LabEvent } from '../common/events.ts';
import { isDottedQuadShape } from '../common/inet-address.ts';
import type { Resolver } from '../common/resolver.ts';
import type { IdentdMode } from '../config/ast.ts';
import type { ServiceTable } from '../config/services.ts';
import type { UserFileReader } from '../config/user-file.ts';
import type { ByteStream, Conn, Listener, Net } from '../net/net.ts';
import type { HostIdentity } from '../policy/host.ts';
import type { AccessDecision } from '../policy/server-access.ts';
import type { PasswdVerifier } from '../protocol/passwd-file.ts';
import type { ParsedRequest } from './handshake.ts';
import type { IdentdClient } from './identd-query.ts';
import type { ClassicLog, CommandRunner, ServerRules, Timers, UnusableConfig } from './options.ts';
import type { Failure } from './replies.ts';
import type { AsyncUserFileReader } from './user-files.ts';

/**
 * What the steps of a session share: the server context every session gets, the state of one
 * accepted request (RunState), the far end of its relay (RelayPeer), and the session operations
 * the step modules (access-step.ts, route-step.ts, interface-step.ts, connect-direct.ts,
 * connect-upstream.ts, bind.ts) call back into. Session (session.ts) implements SessionSteps.
 */

/** Everything a session needs from its server: resolved options and the current rules. */
export interface SessionContext {
  readonly mode: 'rsockd' | 'sockd';
  readonly net: Net;
  readonly resolver: Resolver;
  readonly userFiles: UserFileReader;
  readonly userFilesAsync: AsyncUserFileReader | undefined;
  readonly services: ServiceTable;
  /** `services.nameOf` as a function value, made once (DSTSERV for every request). */
  readonly serviceNameOf: (port: number) => string | undefined;
  readonly identd: IdentdClient;
  readonly identdDefault: IdentdMode;
  readonly identdPort: number;
  readonly socks5: boolean;
  readonly socks5Auth: 'optional' | 'required';
  readonly passwd: PasswdVerifier | null;
  readonly timers: Timers;
  readonly clock: Clock;
  /** TCP keepalive idle time (ms) on the client connection and on every outbound one; 0 = off. */
  readonly keepAliveMs: number;
  readonly upstreamPort: number;
  readonly defaultServer: string | undefined;
  readonly multihomed: boolean;
  readonly routeConnect: boolean;
  readonly routePath: string;
  readonly commands: CommandRunner;
  readonly pid: number;
  readonly hostLabel: string | undefined;
  readonly events: EventSink | undefined;
  readonly log: ClassicLog | undefined;
  readonly rules: () => ServerRules;
}

export type LogLevel = 'notice' | 'err' | 'warning' | 'info';

/** A request that passed the access decision: what every later step needs to know about it. */
export interface RunState {
  readonly req: ParsedRequest;
  readonly src: HostIdentity;
  readonly dst: HostIdentity;
  readonly dstServ: string;
  readonly reqdesc: string;
  readonly realUser: string;
  readonly decision: AccessDecision;
}

/** The far end the relay joins the client to: the destination, an upstream server or a BIND peer. */
export interface RelayPeer {
  readonly socket: ByteStream;
  /** Bytes of `socket` consumed before the relay (an upstream's replies). */
  readonly handshakeBytes: number;
  /** Bytes it sent after its last reply (an upstream's early data), for the client first. */
  readonly early: Buffer | null;
  /** Its name in the termination lines. */
  readonly host: string;
  /** A BIND peer's port as a service label (`terminated -- … (SERV)`); null for a CONNECT. */
  readonly serv: string | null;
}

export function noop(): void {}

/**
 * A log text built from many pieces is a tree of string nodes; a long-lived session keeps one
 * flat copy instead (slicing makes V8 flatten it and drop the pieces).
 */
export function flat(text: string): string {
  return ` ${text}`.slice(1);
}

/**
 * A CONNECT is established, directly or through an upstream (b.4, d.8): the granted reply (SOCKS 4
 * 0.0.0.0:0, SOCKS 5 our end of `out`), the `connected --` line and the relay. The establishment
 * timer is cleared after the reply: nothing runs in between, and the client gets its reply sooner.
 */
export function grantConnect(
  s: SessionSteps,
  run: RunState,
  out: Conn,
  remoteHandshakeBytes: number,
  earlyRemote: Buffer | null,
): void {
  const { req } = run;
  s.sendGranted(req, 'only', req.version === 4 ? { address: '0.0.0.0', port: 0 } : out.local);
  s.clearEstablishTimer();
  s.log('notice', `connected -- ${run.reqdesc}`);
  s.startRelay(run, {
    socket: out.socket,
    handshakeBytes: remoteHandshakeBytes,
    early: earlyRemote,
    host: run.dst.display,
    serv: null,
  });
}

export function isIp(text: string): boolean {
  return isDottedQuadShape(text) || text.includes(':');
}

export function isUnusable(c: unknown): c is UnusableConfig {
  return typeof c === 'object' && c !== null && 'unusable' in c;
}

/** The session operations the step modules use. */
export interface SessionSteps {
  readonly ctx: SessionContext;
  /** The client connection. */
  readonly conn: Conn;
  readonly client: ByteStream;
  /** The session has ended (finish ran); async steps check it after every wait. */
  readonly finished: boolean;
  /** The client went away or the server aborts. */
  readonly gone: boolean;
  /** The destination / upstream / BIND peer socket once there is one. */
  outbound: ByteStream | null;
  bindListener: Listener | null;
  log(level: LogLevel, message: string): void;
  emit(event: Record<string, unknown> & { type: LabEvent['type'] }): void;
  finish(reason: string): void;
  /** Connection-level failure after acceptance: reply, `failed -- …` log, close. */
  fail(run: RunState, failure: Failure, what: string, text: string, bound?: Endpoint): void;
  sendFailure(req: ParsedRequest, failure: Failure, bound?: Endpoint): void;
  /** A reply that ends the session (its code as given): the reply event, the bytes, close once flushed. */
  sendFinalReply(req: ParsedRequest, code: number, phase: 'only' | 'second', bound?: Endpoint): void;
  sendGranted(req: ParsedRequest, phase: 'only' | 'first' | 'second', bound: Endpoint): void;
  clearEstablishTimer(): void;
  /** Called once when the client goes away (registered while waiting for a peer or upstream). */
  onGone(handler: () => void): void;
  /** Called once when the session finishes. */
  onFinish(handler: () => void): void;
  /** Between the first and second BIND reply: read the client into a bounded buffer. */
  watchClientWhileWaiting(): void;
  stopWatching(): void;
  /** The relay step (relay-step.ts): the client and `peer` joined until the session ends. */
  startRelay(run: RunState, peer: RelayPeer): void;
}
