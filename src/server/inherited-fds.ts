import { closeSync, readdirSync, readFileSync } from 'node:fs';

/**
 * Descriptors this process inherited from its parent and would pass on (c.10: a shell command
 * gets standard input, output and error and "no other inherited descriptors").
 *
 * Node opens its own descriptors close-on-exec, so they never reach a child; a descriptor the
 * parent left open without close-on-exec (a lock file, a pipe, a socket at fd 200) is passed on
 * by every spawn. Node cannot set FD_CLOEXEC, and a shell wrapper that closes them in the child
 * would need multi-digit redirections (`exec 200>&-`), which dash does not have. So the server
 * closes them itself at start-up: it never uses them (inetd mode uses fd 0 only), and then no
 * child — hook, worker, logger — can inherit them.
 */

/** O_CLOEXEC in the octal `flags:` line of /proc/self/fdinfo/N (Linux, all architectures). */
const OCloexec = 0o2000000;

/** Descriptors above 2 without close-on-exec, or null when /proc cannot say. */
export function inheritedDescriptors(
  procFd = '/proc/self/fd',
  procFdinfo = '/proc/self/fdinfo',
): number[] | null {
  let names: string[];
  try {
    names = readdirSync(procFd);
  } catch {
    return null;
  }
  const out: number[] = [];
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    let info: string;
    try {
      info = readFileSync(`${procFdinfo}/${fd}`, 'utf8');
    } catch {
      continue; // the directory listing's own descriptor, already closed
    }
    const flags = /^flags:\s*([0-7]+)/m.exec(info);
    if (flags && (Number.parseInt(flags[1]!, 8) & OCloexec) === 0) out.push(fd);
  }
  return out.sort((a, b) => a - b);
}

/**
 * Closes the inherited descriptors except `keep` (those a command-line path names through
 * /dev/fd/N, until the path is open). Returns what was closed, or null when /proc is missing.
 */
export function closeInheritedDescriptors(keep: ReadonlySet<number> = new Set()): number[] | null {
  const fds = inheritedDescriptors();
  if (fds === null) return null;
  const closed: number[] = [];
  for (const fd of fds) {
    if (keep.has(fd)) continue;
    try {
      closeSync(fd);
      closed.push(fd);
    } catch {
      // already gone
    }
  }
  return closed;
}

/** The descriptor a path names through /dev/fd/N or /proc/self/fd/N, if it does. */
export function descriptorOfPath(path: string): number | undefined {
  const m = /^\/(?:dev\/fd|proc\/self\/fd)\/(\d+)$/.exec(path);
  return m ? Number(m[1]) : undefined;
}
