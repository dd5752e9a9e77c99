/**
 * The one table from failures to replies (STYLE habit 4): why a request did not get (or keep)
 * its GRANTED reply → the SOCKS 4 result code (b.2) and the SOCKS 5 REP (i.3). Pure, so the
 * server (server/replies.ts, which adds the log texts) and the static analysis (analysis/
 * predict.ts) answer from the same table.
 */

/** SOCKS 4 result codes (b.2). */
export const Socks4Code = {
  Granted: 90, // request granted
  Rejected: 91, // rejected or failed (policy, routing, connect, resolve, BIND, config)
  NoIdentd: 92, // strict identd mode and the client's identd gave no usable answer
  BadId: 93, // identd answered with another user than the request named
} as const;

/** SOCKS 5 REP values (RFC 1928, spec i.3). */
export const Socks5Rep = {
  Succeeded: 0x00, // succeeded
  GeneralFailure: 0x01, // socket errors, configuration unusable
  NotAllowed: 0x02, // no match, deny, identd outcomes, routing deny, BIND wrong peer
  NetworkUnreachable: 0x03, // ENETUNREACH
  HostUnreachable: 0x04, // EHOSTUNREACH, name did not resolve, establishment timer
  ConnectionRefused: 0x05, // destination refused
  TtlExpired: 0x06, // (unused: no TTL information from TCP)
  CommandNotSupported: 0x07, // UDP ASSOCIATE and unknown commands
  AddressTypeNotSupported: 0x08, // unknown ATYP
} as const;

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

function repForErrno(code: string | undefined): number {
  switch (code) {
    case 'ECONNREFUSED':
      return Socks5Rep.ConnectionRefused;
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return Socks5Rep.NetworkUnreachable;
    case 'EHOSTUNREACH':
    case 'EHOSTDOWN':
    case 'ETIMEDOUT':
      return Socks5Rep.HostUnreachable;
    default:
      return Socks5Rep.GeneralFailure;
  }
}

/** The SOCKS 4 code for a failure (b.2 table; 92/93 only for the identd outcomes). */
export function socks4CodeFor(failure: Failure): number {
  switch (failure.kind) {
    case 'identd-unavailable':
      return Socks4Code.NoIdentd;
    case 'identd-mismatch':
      return Socks4Code.BadId;
    default:
      return Socks4Code.Rejected;
  }
}

/** The SOCKS 5 REP for a failure (i.3 table). */
export function socks5RepFor(failure: Failure): number {
  switch (failure.kind) {
    case 'refused':
    case 'identd-unavailable':
    case 'identd-mismatch':
    case 'wrong-peer':
      return Socks5Rep.NotAllowed;
    case 'errno':
      return repForErrno(failure.code);
    case 'unresolved':
    case 'unspecified':
    case 'timeout':
      return Socks5Rep.HostUnreachable;
    case 'upstream-unreachable':
      return Socks5Rep.HostUnreachable;
    case 'command-unsupported':
      return Socks5Rep.CommandNotSupported;
    case 'address-type-unsupported':
      return Socks5Rep.AddressTypeNotSupported;
    case 'config-unusable':
    case 'no-route':
    case 'upstream-rejected':
      return Socks5Rep.GeneralFailure;
  }
}
