/** Time is injected so timeout tests can advance a manual clock instead of sleeping. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { clear(): void };
}

/** A system timer as Clock hands it out: one small object per timer, no closure. */
class SystemTimer {
  constructor(private readonly timeout: NodeJS.Timeout) {}
  clear(): void {
    clearTimeout(this.timeout);
  }
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return new SystemTimer(t);
  },
};
