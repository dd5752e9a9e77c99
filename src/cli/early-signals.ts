/**
 * Signal handlers that are in place before anything else of the server loads. Without a handler,
 * SIGHUP (and SIGUSR2) end a Node process, so a reload sent while rsockd is still loading its
 * modules, reading its files or binding its port would kill it (exit 129) and leave whatever it
 * had started behind. The entry points install these first; the server takes each signal over
 * once it can act on it. Until then SIGHUP and SIGUSR2 are held (delivered once when taken) and
 * SIGTERM/SIGINT end the process at once through process.exit, so its exit handlers (the pid
 * file's) still run and an operator's Ctrl-C works during a slow start-up.
 *
 * This module imports nothing, so installing it costs nothing measurable at start-up.
 */

export type HeldSignal = 'SIGHUP' | 'SIGUSR2' | 'SIGTERM' | 'SIGINT';

const Held: readonly HeldSignal[] = ['SIGHUP', 'SIGUSR2', 'SIGTERM', 'SIGINT'];
/** Exit status of a process ended by the signal (128 + its number), as the shell reports it. */
const EndsWith: Partial<Record<HeldSignal, number>> = { SIGTERM: 128 + 15, SIGINT: 128 + 2 };

export interface SignalBox {
  /**
   * From now on `signal` calls `handler`; if it arrived before (while held), `handler` runs once
   * for it on the next tick (a repeated early signal counts once: a second SIGHUP before the
   * first reload would read the same files).
   */
  take(signal: HeldSignal, handler: () => void): void;
  /** Back to what it did before `take`. */
  release(signal: HeldSignal): void;
}

export function holdSignals(proc: NodeJS.Process = process): SignalBox {
  const pending = new Set<HeldSignal>();
  const handlers = new Map<HeldSignal, () => void>();
  for (const signal of Held) {
    proc.on(signal, () => {
      const handler = handlers.get(signal);
      const ends = EndsWith[signal];
      if (handler) handler();
      else if (ends !== undefined) proc.exit(ends);
      else pending.add(signal);
    });
  }
  return {
    take(signal, handler) {
      handlers.set(signal, handler);
      if (pending.delete(signal)) proc.nextTick(handler);
    },
    release(signal) {
      handlers.delete(signal);
    },
  };
}
