import { closeSync, openSync } from 'node:fs';

/**
 * Whether this process can still open a descriptor: null, or the errno code (EMFILE, ENFILE).
 *
 * Why a probe: when accept() fails for want of descriptors, libuv closes one descriptor it keeps
 * in reserve, accepts and closes every waiting connection with it, and reports nothing to
 * JavaScript (uv__emfile_trick; node:net is no different). Clients are turned away and the
 * listener never hears of it. Opening /dev/null now and then is how the server finds out.
 */
export function probeDescriptor(): string | null {
  try {
    closeSync(openSync('/dev/null', 'r'));
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EMFILE' || code === 'ENFILE' ? code : null;
  }
}
