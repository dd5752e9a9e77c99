/**
 * The one place where failures become replies (STYLE habit 4): policy verdicts, identd outcomes,
 * errno codes from the Net and upstream answers all map to a SOCKS 4 result code (b.2) and a
 * SOCKS 5 REP (i.3), and to the system error text the classic log line quotes (h.6).
 */

// The pure verdict → reply table lives in policy/ so the static analysis uses the same one.
export {
  type Failure,
  Socks4Code,
  Socks5Rep,
  socks4CodeFor,
  socks5RepFor,
} from '../policy/failure-reply.ts';

/** System error texts as the C library's strerror() prints them (h.6 `Error code: WHAT TEXT`). */
const errnoText: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Connection refused',
  ETIMEDOUT: 'Connection timed out',
  ENETUNREACH: 'Network is unreachable',
  ENETDOWN: 'Network is down',
  EHOSTUNREACH: 'No route to host',
  EHOSTDOWN: 'Host is down',
  ECONNRESET: 'Connection reset by peer',
  ECONNABORTED: 'Software caused connection abort',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EPIPE: 'Broken pipe',
  EMFILE: 'Too many open files',
  ENFILE: 'Too many open files in system',
  ENOBUFS: 'No buffer space available',
  EINVAL: 'Invalid argument',
  EAFNOSUPPORT: 'Address family not supported by protocol',
};

/** strerror() text for an errno code; unknown codes print themselves (never empty). */
export function systemErrorText(code: string | undefined): string {
  if (code === undefined) return 'Unknown error';
  return errnoText[code] ?? code;
}

/** hstrerror() text for a failed gethostbyname (b.3: `gethostbyname() <reason>`). */
export const unknownHostText = 'Unknown host';

export function errnoOf(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}
