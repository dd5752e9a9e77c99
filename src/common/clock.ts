/** Time is injected so timeout tests can advance a manual clock instead of sleeping. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { clear(): void };
}

/**
 * The system clock's timers. A server sets and clears several timers per connection (request,
 * establishment, dial, idle), each with one of a few configured durations, and nearly all are
 * cleared long before they are due. Timers of one duration fall due in the order they were set,
 * so each duration keeps them in a list and needs a single Node timer, armed for the first of
 * them: setting or clearing one is a few field writes, with no Node timer object per timer and
 * no Node timer list made and dropped whenever a duration's last timer goes (which, one
 * connection at a time, is every connection).
 */
class QueuedTimer {
  at = 0;
  prev: QueuedTimer | null = null;
  next: QueuedTimer | null = null;
  queue: DurationQueue | null = null;

  constructor(readonly fn: () => void) {}

  clear(): void {
    this.queue?.remove(this);
  }
}

/**
 * A Node timer fires once its delay has passed by libuv's clock, which may run a little behind
 * `performance.now()`: a timer this close to due counts as due rather than arming another wait.
 */
const DueSlackMs = 1;

class DurationQueue {
  private head: QueuedTimer | null = null;
  private tail: QueuedTimer | null = null;
  /** The Node timer, due at or before the first timer of the list (never after it). */
  private armed: NodeJS.Timeout | null = null;
  private firing = false;

  constructor(private readonly ms: number) {}

  add(t: QueuedTimer): void {
    t.at = performance.now() + this.ms;
    t.queue = this;
    t.prev = this.tail;
    if (this.tail) this.tail.next = t;
    else this.head = t;
    this.tail = t;
    // While firing, the end of `fire` arms for whatever is first by then.
    if (this.armed === null && !this.firing) this.arm(this.ms);
  }

  /** Unlinks `t`; the Node timer stays armed and finds out when it fires (no Node call here). */
  remove(t: QueuedTimer): void {
    if (t.prev) t.prev.next = t.next;
    else this.head = t.next;
    if (t.next) t.next.prev = t.prev;
    else this.tail = t.prev;
    t.prev = null;
    t.next = null;
    t.queue = null;
  }

  private arm(delayMs: number): void {
    this.armed = setTimeout(this.fire, Math.max(1, Math.ceil(delayMs)));
    this.armed.unref();
  }

  private readonly fire = (): void => {
    this.armed = null;
    this.firing = true;
    try {
      for (;;) {
        const t = this.head;
        if (t === null || t.at > performance.now() + DueSlackMs) break;
        this.remove(t);
        t.fn();
      }
    } finally {
      this.firing = false;
      const next = this.head;
      if (next !== null) this.arm(next.at - performance.now());
      else queues.delete(this.ms);
    }
  };
}

/** One queue per duration in use; a queue with nothing left to time is dropped when its Node timer fires. */
const queues = new Map<number, DurationQueue>();

/** Node's rule: a delay outside 1 ms … 2^31−1 ms is 1 ms. */
const MaxDelayMs = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const duration = ms >= 1 && ms <= MaxDelayMs ? ms : 1;
    let queue = queues.get(duration);
    if (queue === undefined) {
      queue = new DurationQueue(duration);
      queues.set(duration, queue);
    }
    const t = new QueuedTimer(fn);
    queue.add(t);
    return t;
  },
};
