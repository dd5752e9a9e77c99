import { createServer, type Server, Socket } from 'node:net';
import type { FaultEffect, LinkFault, PathEffect } from '../../topology/link-faults.ts';

/**
 * The local runtime's slow or lossy link: a connection the virtual network makes across a
 * delayed or lossy interface runs through this in-process relay, which holds each chunk for
 * the link's one-way delay before passing it on (in order), and the half-close and reset that
 * end it. The far end sees a connection from the caller's own loopback address (the relay dials
 * from there), so peer addresses, and identd's owner registry keyed by the relay's port, stay
 * as without the relay.
 *
 * Loss is modelled as TCP makes it look to programs: a lost data segment is retransmitted
 * after the retransmission timeout, so a chunk the loss pattern hits arrives late, never not at
 * all; each retry of the same chunk doubles the wait. The pattern is the kernel rule's (every
 * N-th segment, counted per fault and direction), so a lossy link behaves the same every run.
 */

/** Linux's smallest retransmission timeout (TCP_RTO_MIN): what a lost segment costs on a LAN. */
export const RetransmitMs = 200;
/** Bytes held in one direction before the sender is paused (bounded memory). */
const MaxHeldBytes = 256 * 1024;

/** Counts the data segments each loss fault has seen, per direction (the kernel rule's counter). */
export class LossCounters {
  private readonly seen = new Map<string, number>();

  /** Extra wait for one chunk crossing `faults` (0 when no pattern hits it). */
  extraFor(faults: readonly { readonly fault: LinkFault; readonly dir: 'in' | 'out' }[]): number {
    let extra = 0;
    for (const { fault: f, dir } of faults) {
      const e = f.effect as Extract<FaultEffect, { kind: 'loss' }>;
      // One counter per fault and direction of its interface, as one iptables rule counts.
      const key = `${f.id}|${dir}`;
      let rto = RetransmitMs;
      for (;;) {
        const n = this.seen.get(key) ?? 0;
        this.seen.set(key, n + 1);
        const hit = n % e.every === 0;
        if (hit !== e.dropNth) break;
        extra += rto;
        rto *= 2;
      }
    }
    return extra;
  }
}

export interface RelayPlan {
  /** Loopback address the caller dials from (its interface). */
  readonly fromReal: string;
  readonly to: { readonly address: string; readonly port: number };
  readonly forwardMs: number;
  readonly backwardMs: number;
  readonly forwardLoss: PathEffect['forwardLoss'];
  readonly backwardLoss: PathEffect['backwardLoss'];
  readonly losses: LossCounters;
}

/**
 * One direction of the relay: chunks (and the end or reset after them) leave in order, each no
 * sooner than its delay allows. One queue and one timer for its head: separate timers of nearly
 * equal expiry may fire out of order.
 */
class Lane {
  private lastAt = 0;
  private held = 0;
  private readonly queue: { at: number; run: () => void }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    from: Socket,
    to: Socket,
    private readonly delayMs: number,
    private readonly extra: () => number,
  ) {
    from.on('data', (chunk: Buffer) => {
      this.held += chunk.length;
      if (this.held > MaxHeldBytes) from.pause();
      this.later(this.extra(), () => {
        this.held -= chunk.length;
        if (!to.destroyed) to.write(chunk);
        if (this.held <= MaxHeldBytes && from.isPaused()) from.resume();
      });
    });
    from.on('end', () => this.later(0, () => to.destroyed || to.end()));
  }

  later(extraMs: number, run: () => void): void {
    const at = Math.max(this.lastAt, Date.now() + this.delayMs + extraMs);
    this.lastAt = at;
    this.queue.push({ at, run });
    if (this.queue.length === 1) this.arm();
  }

  private arm(): void {
    const head = this.queue[0];
    if (!head) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const now = Date.now();
        while (this.queue[0] && this.queue[0].at <= now) this.queue.shift()?.run();
        this.arm();
      },
      Math.max(0, head.at - Date.now()),
    );
  }

  stop(): void {
    clearTimeout(this.timer);
    this.queue.length = 0;
  }
}

/**
 * Dials `plan.to` from `plan.fromReal` and hands back the caller's end of a loopback pair whose
 * bytes cross the relay; `upPort` is the relay's own port towards the far end (the address the
 * far end sees).
 */
export async function dialThroughRelay(plan: RelayPlan): Promise<{ socket: Socket; upPort: number }> {
  const up = await connectOnce(
    { host: plan.to.address, port: plan.to.port, localAddress: plan.fromReal },
    true,
  );
  const server: Server = createServer({ allowHalfOpen: true });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: plan.fromReal, port: 0 }, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const socket = await connectOnce({ host: plan.fromReal, port, localAddress: plan.fromReal }, false);
    const down = await accepted;
    const forward = new Lane(down, up, plan.forwardMs, () => plan.losses.extraFor(plan.forwardLoss));
    const backward = new Lane(up, down, plan.backwardMs, () => plan.losses.extraFor(plan.backwardLoss));
    // A reset or error on one side reaches the other after that direction's delay.
    const cut = (lane: Lane, other: Socket) => (err?: Error) => {
      if (!err) return;
      lane.later(0, () => other.destroyed || other.resetAndDestroy());
    };
    down.on('error', cut(forward, up));
    up.on('error', cut(backward, down));
    const closed = () => {
      if (down.destroyed && up.destroyed) {
        forward.stop();
        backward.stop();
      }
    };
    down.on('close', (hadError) => {
      if (!hadError) backward.later(0, () => closed());
      closed();
    });
    up.on('close', closed);
    return { socket, upPort: up.localPort ?? 0 };
  } catch (err) {
    up.destroy();
    throw err;
  } finally {
    server.close();
  }
}

function connectOnce(
  options: { host: string; port: number; localAddress: string },
  allowHalfOpen: boolean,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = new Socket({ allowHalfOpen });
    socket.once('error', reject);
    socket.connect(options, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}
