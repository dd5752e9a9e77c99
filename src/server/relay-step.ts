import { Relay, type RelayResult } from './relay.ts';
import { flat, type RelayPeer, type RunState, type SessionSteps } from './session-steps.ts';

/** What the relay step needs of its session (session.ts). */
export interface RelayingSession extends Pick<SessionSteps, 'ctx' | 'client' | 'log'> {
  /** The relay is over: its byte counts go to the close event, and the session ends with `reason`. */
  finishRelayed(result: RelayResult, reason: string): void;
}

/**
 * The relay step (b.6): join the client to `peer` (relay.ts moves the bytes) and, when the relay
 * is over, write the termination lines (h.*) and end the session. `early` is what the client sent
 * after its request (request-reader.ts), `clientHandshakeBytes` what its negotiation used up.
 */
export function openRelay(
  s: RelayingSession,
  run: RunState,
  peer: RelayPeer,
  clientHandshakeBytes: number,
  early: Buffer | null,
): Relay {
  // The async steps that led here end now: a relaying session keeps only these three strings
  // for its termination log, not the request, the decision or the host records.
  const terminated = flat(`terminated -- ${run.reqdesc}${peer.serv !== null ? ` (${peer.serv})` : ''}.`);
  const srcHost = flat(run.src.display);
  const remoteName = flat(peer.host);
  return new Relay(s.client, peer.socket, {
    clientHandshakeBytes,
    remoteHandshakeBytes: peer.handshakeBytes,
    early,
    earlyRemote: peer.early,
    idleMs: s.ctx.timers.relayIdle,
    onDone: (result) => {
      s.log('notice', terminated);
      s.log(
        'notice',
        `${result.fromClient} bytes from ${srcHost}, ${result.fromRemote} bytes from ${remoteName}`,
      );
      if (result.reason !== 'eof') s.log('notice', endedText(result, srcHost, remoteName));
      s.finishRelayed(result, result.reason === 'eof' ? 'eof' : `${result.reason}: ${result.detail ?? ''}`);
    },
  });
}

/**
 * The line after the byte counts when a relay did not end cleanly: why, and that the other
 * party was reset (so it saw an error, not the end of a complete transfer).
 */
export function endedText(result: RelayResult, srcHost: string, remoteHost: string): string {
  const host = result.side === 'client' ? srcHost : remoteHost;
  const other = result.side === 'client' ? remoteHost : srcHost;
  const detail = result.detail ?? '';
  switch (result.reason) {
    case 'error':
      return `ended -- connection with ${host} failed (${detail}); ${other} was reset`;
    case 'peer-gone':
      return `ended -- ${host} went away while its reads were paused (${detail}); ${other} was reset`;
    case 'idle':
      return `ended -- no byte moved for ${detail}; both sides were closed`;
    case 'aborted':
      return `ended -- ${detail}; both sides were reset`;
    default:
      return `ended -- ${result.reason}`;
  }
}
