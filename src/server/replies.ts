/**
 * The one place where failures become replies (STYLE habit 4): policy verdicts, identd outcomes,
 * errno codes from the Net and upstream answers all map to a SOCKS 4 result code (b.2) and a
 * SOCKS 5 REP (i.3), and to the system error text the classic log line quotes (h.6).
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
