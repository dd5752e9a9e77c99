import { SockslabError } from '../common/errors.ts';
import {
  type AgentLine,
  type DialOutcome,
  type DialRequest,
  decodeProberLine,
  LineSplitter,
  type ProberRequest,
} from './agent-protocol.ts';
import type { ProbeRequest } from './runtime.ts';

/**
 * The driver's side of the long-lived probers (`host-agent probes`, agent-protocol.ts): one per
 * host and user, started on first use and kept for the lab's life, so a probe costs a line on a
 * pipe instead of a process start (nsenter or docker exec, then node) — the most of a case's time
 * on netns and docker. Requests carry ids and run side by side (`run --jobs`). A prober that dies
 * fails what it had in hand and is started again for the next request.
 */

/** A started prober process, as the runtime opened it. */
export interface ProberChannel {
  write(text: string): void;
  /** Every chunk of its stdout, in order. */
  onStdout(listener: (chunk: string) => void): void;
  /** Resolves when the process has ended, with why (exit status, stderr tail). */
  readonly ended: Promise<string>;
  close(): void;
}

interface Pending {
  readonly onLine?: (line: AgentLine) => void;
  readonly resolve: (value: DialOutcome | undefined) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

class Prober {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly split = new LineSplitter();
  ended = false;

  constructor(
    readonly what: string,
    private readonly channel: ProberChannel,
  ) {
    channel.onStdout((chunk) => {
      for (const text of this.split.push(chunk)) this.onText(text);
    });
    void channel.ended.then((why) => {
      this.ended = true;
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(
          new SockslabError('E_PROBER', `${what}: prober ended (${why}) with request ${id} unanswered`),
        );
      }
      this.pending.clear();
    });
  }

  private onText(text: string): void {
    const line = decodeProberLine(text);
    if (!line) return;
    const p = this.pending.get(line.id);
    if (!p) return;
    if (line.k === 'dialed') {
      this.finish(line.id, p);
      p.resolve(line.outcome);
      return;
    }
    p.onLine?.(line.line);
    if (line.line.k === 'outcome') {
      this.finish(line.id, p);
      p.resolve(undefined);
    }
  }

  private finish(id: number, p: Pending): void {
    clearTimeout(p.timer);
    this.pending.delete(id);
  }

  send(
    make: (id: number) => ProberRequest,
    timeoutMs: number,
    onLine?: (line: AgentLine) => void,
  ): Promise<DialOutcome | undefined> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SockslabError('E_PROBER', `${this.what}: request ${id} unanswered after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { ...(onLine ? { onLine } : {}), resolve, reject, timer });
      this.channel.write(`${JSON.stringify(make(id))}\n`);
    });
  }

  close(): void {
    this.channel.close();
  }
}

export class ProberPool {
  private readonly probers = new Map<string, Prober>();
  private closed = false;

  constructor(private readonly open: (host: string, uid: number) => ProberChannel) {}

  private prober(host: string, uid: number): Prober {
    if (this.closed) throw new SockslabError('E_PROBER', `the lab is down: no probe from ${host}`);
    const key = `${host}/${uid}`;
    let p = this.probers.get(key);
    if (!p || p.ended) {
      p = new Prober(`host ${host} uid ${uid}`, this.open(host, uid));
      this.probers.set(key, p);
    }
    return p;
  }

  /** Runs one probe; every line it prints goes to `onLine`; resolves after its `outcome` line. */
  async probe(
    host: string,
    uid: number,
    request: ProbeRequest,
    onLine: (line: AgentLine) => void,
    timeoutMs: number,
  ): Promise<void> {
    await this.prober(host, uid).send((id) => ({ id, probe: request }), timeoutMs, onLine);
  }

  async dial(host: string, uid: number, request: DialRequest, timeoutMs: number): Promise<DialOutcome> {
    const outcome = await this.prober(host, uid).send((id) => ({ id, dial: request }), timeoutMs);
    return outcome as DialOutcome;
  }

  close(): void {
    this.closed = true;
    for (const p of this.probers.values()) p.close();
    this.probers.clear();
  }
}
