import type { Clock } from '../common/clock.ts';

/**
 * A log line about something that may happen thousands of times a second (connections refused
 * at a limit, accept failing for want of descriptors): the first occurrence is written at once,
 * later ones are counted and written as one line when `intervalMs` has passed since the last
 * line, so a flood costs one line per interval and no occurrence goes unreported.
 */
export class RateLimitedReport {
  private unreported = 0;
  private last = '';
  private loggedAt = Number.NEGATIVE_INFINITY;
  private timer: { clear(): void } | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    /** The line for `count` occurrences since the last one; `detail` is the latest's. */
    private readonly write: (count: number, detail: string) => void,
  ) {}

  note(detail = ''): void {
    this.unreported++;
    this.last = detail;
    const now = this.clock.now();
    const wait = this.loggedAt + this.intervalMs - now;
    if (wait <= 0) this.flush(now);
    else this.timer ??= this.clock.setTimeout(() => this.flush(), wait);
  }

  /** Write what is pending now (shutdown). */
  flush(now = this.clock.now()): void {
    this.timer?.clear();
    this.timer = null;
    const n = this.unreported;
    if (n === 0) return;
    this.unreported = 0;
    this.loggedAt = now;
    this.write(n, this.last);
  }
}
