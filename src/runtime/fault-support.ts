import type { FaultSupport } from './runtime.ts';

/** `link faults: delay by nfqueue …; loss by …` plus what was probed, for `run` and `up`. */
export function faultSupportText(s: FaultSupport): string {
  const kinds = (['cut', 'delay', 'loss', 'drop', 'reset'] as const).map(
    (k) => `${k} ${s[k] ? `by ${s[k]}` : 'unavailable'}`,
  );
  return `link faults: ${kinds.join('; ')}${s.notes.length ? ` (${s.notes.join(', ')})` : ''}`;
}
