import { errorCode } from './errors.ts';

/**
 * errno codes as the C library's strerror() prints them: the classic log lines quote these
 * (h.6 `Error code: WHAT TEXT`), and the server and the SOCKS client both report connect
 * failures with them. An errno code comes off an error with `errorCode` (errors.ts).
 */

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
  ENOENT: 'No such file or directory',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
};

/** strerror() text for an errno code; unknown codes print themselves (never empty). */
export function systemErrorText(code: string | undefined): string {
  if (code === undefined) return 'Unknown error';
  return errnoText[code] ?? code;
}

/**
 * Why a file could not be read, as the classic programs print it: strerror() text for a known
 * errno code, else the error's own message.
 */
export function fileErrorText(err: unknown): string {
  const code = errorCode(err);
  const known = code === undefined ? undefined : errnoText[code];
  return known ?? (err instanceof Error ? err.message : String(err));
}
