import { promises as fs } from 'node:fs';
import { processAlive } from './process-alive.ts';

/**
 * Runs `fn` holding an exclusive lock file across processes on this machine (created with `wx`,
 * holding the holder's pid). A lock whose process is gone is taken over; otherwise the caller
 * polls every `pollMs` until it is free. The lock is removed when `fn` ends, however it ends.
 */
export async function withPidLock<T>(lock: string, fn: () => Promise<T>, pollMs = 200): Promise<T> {
  for (;;) {
    try {
      const handle = await fs.open(lock, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(await fs.readFile(lock, 'utf8').catch(() => ''));
      if (Number.isInteger(owner) && owner > 0 && !processAlive(owner)) await fs.rm(lock, { force: true });
      else await new Promise((r) => setTimeout(r, pollMs));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lock, { force: true });
  }
}
