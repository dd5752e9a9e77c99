/**
 * Whether a process with this pid exists on this machine. Signal 0 checks without signalling;
 * EPERM means the process exists but belongs to someone else, so it counts as alive (a lab's owner
 * or a build lock's holder running as another user must not be taken for dead).
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
