import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Young-generation collections at quiet moments.
 *
 * Every connection leaves some kilobytes of short-lived objects, and V8 clears them with a young
 * collection (a scavenge) that stops the event loop for a fraction of a millisecond. V8 starts
 * one when the young generation is nearly full, whatever the server is doing: often while a
 * client waits for its reply, so a client's connect latency has the pause added. Measured at one
 * connection at a time: about one connection in 250 overlaps a scavenge, which is a large share
 * of the slowest 1 %.
 *
 * The server knows better moments: when no session is waiting for a reply (the last one has
 * just got it, or ended). Collecting there, once the young generation is half full, keeps V8
 * from needing its own collection at a worse time. A server that is never quiet (every moment
 * some client is mid-handshake) gets V8's collections as before; nothing is collected more than
 * V8 would, only earlier.
 */

export interface YoungGeneration {
  /** How full the young generation is, from 0 to 1. */
  fill(): number;
  /** A young-generation collection now. */
  collect(): void;
}

/** V8 schedules its own collection at 80 % (`--scavenge-task-trigger`); half leaves room to get there first. */
export const QuietCollectFill = 0.5;

/**
 * The fill is read at every QuietReadEvery-th quiet moment only: V8 reports its spaces as new
 * objects (garbage itself), and a server at one connection at a time is quiet after each one.
 * Eight connections are some 100 KiB of a young generation of megabytes.
 */
export const QuietReadEvery = 8;

/**
 * The server's quiet-moment callback: when the young generation is at least `threshold` full,
 * collect. The collection waits for the end of the current event-loop turn, so the session
 * that just replied has finished its synchronous work (its garbage is dead, not copied), and is
 * skipped if a client has started waiting again meanwhile.
 */
export function quietCollector(
  gen: YoungGeneration,
  threshold: number = QuietCollectFill,
  defer: (run: () => void) => void = setImmediate,
  readEvery: number = QuietReadEvery,
): (stillQuiet: () => boolean) => void {
  let pending = false;
  let skipped = 0;
  return (stillQuiet) => {
    if (pending || ++skipped < readEvery) return;
    skipped = 0;
    if (gen.fill() < threshold) return;
    pending = true;
    defer(() => {
      pending = false;
      if (stillQuiet()) gen.collect();
    });
  };
}

/**
 * This process's young generation, or null when V8 gives no collection function. Without
 * `--expose-gc` on the command line, the flag is set now and the function taken from a new
 * context (the main context was created before the flag).
 */
export function v8YoungGeneration(): YoungGeneration | null {
  let gc: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== 'function') {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc');
    } catch {
      return null;
    }
  }
  if (typeof gc !== 'function') return null;
  const collect = gc as (options: { type: 'minor' }) => void;
  return {
    fill() {
      for (const space of getHeapSpaceStatistics()) {
        if (space.space_name !== 'new_space') continue;
        const capacity = space.space_used_size + space.space_available_size;
        return capacity > 0 ? space.space_used_size / capacity : 0;
      }
      return 0;
    },
    collect() {
      collect({ type: 'minor' });
    },
  };
}
