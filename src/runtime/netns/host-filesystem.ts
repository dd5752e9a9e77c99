import { InputError } from '../../common/errors.ts';
import { type FileSpec, ImagePaths } from '../host-spec.ts';

/**
 * Namespaces share one filesystem, but the host agent writes fixed paths (/etc/sockslab, /tmp,
 * the configs' user files). So each host agent starts in a private mount namespace of its own:
 * a fresh tmpfs on /tmp, a tmpfs-backed overlay on /etc (and on the top directory of any other
 * file the host writes), and the project bound read-only on /app, where the agent expects its
 * code. Nothing the agent writes reaches the machine's filesystem, and two hosts never collide.
 * Pure: the shell script is built here and run by the agent process.
 */

/** Directories that must never be overlaid: kernel filesystems and the mounts of this plan. */
const untouchable = new Set(['/proc', '/sys', '/dev', '/tmp', '/app', '/run']);

/** The top-level directory of an absolute file path (`/etc/sockd/x.users` → `/etc`). */
export function topDirectory(path: string): string | null {
  const m = /^\/([^/]+)\/./.exec(path);
  return m?.[1] ? `/${m[1]}` : null;
}

/**
 * Directories to overlay so the host's files can be written privately: always /etc, plus the top
 * directory of every other file outside /tmp. A file directly in `/`, under a kernel filesystem, or
 * under a top directory this machine lacks cannot be given a private copy: that is an input error.
 */
export function overlayDirectories(
  host: string,
  files: readonly FileSpec[],
  exists: (dir: string) => boolean,
): string[] {
  const dirs = new Set(['/etc']);
  for (const f of files) {
    const top = topDirectory(f.path);
    if (top === '/tmp') continue;
    if (top === null || !/^\/[A-Za-z0-9._-]+$/.test(top) || untouchable.has(top) || !exists(top)) {
      throw new InputError(
        'E_NETNS_FILE_PATH',
        `host ${host}: file ${f.path} cannot be written privately in a network namespace; ` +
          'use a path under /etc, /tmp or another existing top-level directory',
      );
    }
    dirs.add(top);
  }
  return [...dirs].sort();
}

/** `sh -c` script: $1 = project root, $2 = node binary; ends by exec-ing the agent (the PID stays). */
export function agentScript(overlays: readonly string[]): string {
  const work = '/tmp/.sockslab-overlay';
  const lines = [
    'set -e',
    // A new namespace inherits ip_forward from the root one (often 1): hosts never route.
    'echo 0 > /proc/sys/net/ipv4/ip_forward',
    // Bind the project first: it may itself live under /tmp (CI clones there), which the tmpfs hides.
    `mount --bind "$1" ${ImagePaths.app}`,
    `mount -o remount,bind,ro ${ImagePaths.app}`,
    'mount -t tmpfs -o mode=1777 sockslab-tmp /tmp',
    `mkdir -m 700 ${work}`,
  ];
  overlays.forEach((dir, i) => {
    lines.push(
      `mkdir -p ${work}/${i}/upper ${work}/${i}/work`,
      `mount -t overlay sockslab-overlay -o lowerdir=${dir},upperdir=${work}/${i}/upper,workdir=${work}/${i}/work ${dir}`,
    );
  });
  lines.push(`exec "$2" ${ImagePaths.agent} serve`);
  return lines.join('\n');
}
