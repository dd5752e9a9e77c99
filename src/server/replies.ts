import type { Endpoint } from '../common/events.ts';
import { parseDottedQuad } from '../common/inet-address.ts';
import { type Failure, socks4CodeFor, socks5RepFor } from '../policy/failure-reply.ts';
import { encodeSocks4Reply } from '../protocol/socks4.ts';
import { encodeSocks5Reply } from '../protocol/socks5.ts';

/**
 * The one place where failures become replies (STYLE habit 4): policy verdicts, identd outcomes,
 * errno codes from the Net and upstream answers all map to a SOCKS 4 result code (b.2) and a
 * SOCKS 5 REP (i.3), and to the system error text the classic log line quotes (h.6); and the
 * reply bytes for either version.
 */

// strerror() texts are shared with the SOCKS client (client/failover.ts reports connect failures).
export { systemErrorText } from '../common/system-error.ts';
// The pure verdict → reply table lives in policy/ so the static analysis uses the same one.
export {
  type Failure,
  Socks4Code,
  Socks5Rep,
  socks4CodeFor,
  socks5RepFor,
} from '../policy/failure-reply.ts';

/** hstrerror() text for a failed gethostbyname (b.3: `gethostbyname() <reason>`). */
export const unknownHostText = 'Unknown host';

/** The wildcard a reply carries when it names no address (SOCKS 4 failures, SOCKS 5 failures). */
const Unbound: Endpoint = { address: '0.0.0.0', port: 0 };

/** A SOCKS 4 reply carries IPv4 only: any other address (IPv6, empty) goes out as 0.0.0.0. */
export function v4OrZero(address: string): string {
  return parseDottedQuad(address) !== undefined ? address : '0.0.0.0';
}

/** The reply bytes for the client's SOCKS version: `code` and the address it names (b.2, i.3). */
export function encodeReply(version: 4 | 5, code: number, bound: Endpoint = Unbound): Buffer {
  return version === 4
    ? encodeSocks4Reply(code, bound.port, v4OrZero(bound.address))
    : encodeSocks5Reply(code, bound);
}

/** The reply code for `failure` in the client's SOCKS version. */
export function replyCodeFor(version: 4 | 5, failure: Failure): number {
  return version === 4 ? socks4CodeFor(failure) : socks5RepFor(failure);
}
