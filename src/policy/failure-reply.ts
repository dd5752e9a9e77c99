/**
 * The one table from failures to replies (STYLE habit 4): why a request did not get (or keep)
 * its GRANTED reply → the SOCKS 4 result code (b.2) and the SOCKS 5 REP (i.3). Pure, so the
 * server (server/replies.ts, which adds the log texts) and the static analysis (analysis/
 * predict.ts) answer from the same table.
 */
import { Socks4Reply } from '../protocol/socks4.ts';
import { Socks5Reply, type Socks5ReplyCode } from '../protocol/socks5.ts';

/**
 * The codes themselves are protocol/'s (one definition); these names are kept for server/, which
 * reaches them through server/replies.ts.
 */
export { Socks4Reply as Socks4Code } from '../protocol/socks4.ts';
export { Socks5Reply as Socks5Rep } from '../protocol/socks5.ts';

/** Why a request did not get (or keep) its GRANTED reply. */
export type Failure =
  /** no rule matched, a deny rule matched, or socks.conf said deny */
  | { readonly kind: 'refused' }
  /** a usable sockd.conf (or socks.conf / route file) is missing or invalid */
  | { readonly kind: 'config-unusable' }
  | { readonly kind: 'identd-unavailable' }
  | { readonly kind: 'identd-mismatch' }
  /** a socket call failed with this errno code */
  | { readonly kind: 'errno'; readonly code: string | undefined }
  /** a destination name did not resolve (b.3) */
  | { readonly kind: 'unresolved' }
  /** CONNECT to 0.0.0.0 (j.21) */
  | { readonly kind: 'unspecified' }
  /** multi-homed BIND with no matching route line, or no route file */
  | { readonly kind: 'no-route' }
  /** every upstream server in the list failed to connect (d.7) */
  | { readonly kind: 'upstream-unreachable' }
  /** an upstream server answered but not with 90, or closed (d.8: never passed through) */
  | { readonly kind: 'upstream-rejected'; readonly code: number | null }
  /** the establishment timer expired (SOCKS 5 only; SOCKS 4 gets no reply, b.7) */
  | { readonly kind: 'timeout' }
  /** BIND: the inbound connection came from another host (b.5.2) */
  | { readonly kind: 'wrong-peer' }
  /** SOCKS 5 only */
  | { readonly kind: 'command-unsupported' }
  | { readonly kind: 'address-type-unsupported' };

function repForErrno(code: string | undefined): Socks5ReplyCode {
  switch (code) {
    case 'ECONNREFUSED':
      return Socks5Reply.ConnectionRefused;
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return Socks5Reply.NetworkUnreachable;
    case 'EHOSTUNREACH':
    case 'EHOSTDOWN':
    case 'ETIMEDOUT':
      return Socks5Reply.HostUnreachable;
    default:
      return Socks5Reply.GeneralFailure;
  }
}

/** The SOCKS 4 code for a failure (b.2 table; 92/93 only for the identd outcomes). */
export function socks4CodeFor(failure: Failure): number {
  switch (failure.kind) {
    case 'identd-unavailable':
      return Socks4Reply.NoIdentd;
    case 'identd-mismatch':
      return Socks4Reply.BadId;
    default:
      return Socks4Reply.Rejected;
  }
}

/** The SOCKS 5 REP for a failure (i.3 table). */
export function socks5RepFor(failure: Failure): number {
  switch (failure.kind) {
    case 'refused':
    case 'identd-unavailable':
    case 'identd-mismatch':
    case 'wrong-peer':
      return Socks5Reply.NotAllowed;
    case 'errno':
      return repForErrno(failure.code);
    case 'unresolved':
    case 'unspecified':
    case 'timeout':
      return Socks5Reply.HostUnreachable;
    case 'upstream-unreachable':
      return Socks5Reply.HostUnreachable;
    case 'command-unsupported':
      return Socks5Reply.CommandNotSupported;
    case 'address-type-unsupported':
      return Socks5Reply.AddressTypeNotSupported;
    case 'config-unusable':
    case 'no-route':
    case 'upstream-rejected':
      return Socks5Reply.GeneralFailure;
  }
}
