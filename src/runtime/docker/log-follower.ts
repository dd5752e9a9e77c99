import { PassThrough } from 'node:stream';
import { type AgentLine, decodeLine, LineSplitter } from '../agent-protocol.ts';
import type { DockerEngine } from './engine.ts';

/**
 * Follows one container's stdout from its first line: decoded agent lines go to `onLine`; stderr
 * is kept (last lines only) to explain a container that dies. `ready` settles on the agent's
 * `ready` line, its `fatal` line, or the end of the stream, whichever comes first.
 */
export class LogFollower {
  readonly ready: Promise<readonly string[]>;
  private readonly stderrTail: string[] = [];
  private stream: NodeJS.ReadableStream | undefined;
  private settle: { resolve(s: readonly string[]): void; reject(e: Error): void } | undefined;
  private ended = false;

  constructor(
    private readonly label: string,
    private readonly onLine: (line: AgentLine) => void,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.ready.catch(() => {});
  }

  async attach(engine: DockerEngine, containerId: string): Promise<void> {
    const container = engine.dockerode.getContainer(containerId);
    const raw = (await container.logs({
      follow: true,
      stdout: true,
      stderr: true,
      since: 0,
    })) as NodeJS.ReadableStream & {
      destroy?: () => void;
    };
    this.stream = raw;
    const out = new PassThrough();
    const err = new PassThrough();
    engine.dockerode.modem.demuxStream(raw, out, err);
    const split = new LineSplitter();
    out.setEncoding('utf8');
    out.on('data', (chunk: string) => {
      for (const text of split.push(chunk)) this.line(text);
    });
    const errSplit = new LineSplitter();
    err.setEncoding('utf8');
    err.on('data', (chunk: string) => {
      for (const text of errSplit.push(chunk)) {
        this.stderrTail.push(text);
        if (this.stderrTail.length > 40) this.stderrTail.shift();
      }
    });
    raw.on('end', () => {
      for (const text of split.flush()) this.line(text);
      this.ended = true;
      this.settle?.reject(
        new Error(`${this.label}: the host agent exited before it was ready${this.diagnostics()}`),
      );
    });
    raw.on('error', (e: Error) => this.settle?.reject(e));
  }

  private line(text: string): void {
    const line = decodeLine(text);
    if (!line) {
      if (text.trim()) this.stderrTail.push(text);
      return;
    }
    if (line.k === 'ready') this.settle?.resolve(line.services);
    else if (line.k === 'fatal')
      this.settle?.reject(new Error(`${this.label}: ${line.message}${this.diagnostics()}`));
    this.onLine(line);
  }

  diagnostics(): string {
    return this.stderrTail.length ? `\n${this.stderrTail.slice(-15).join('\n')}` : '';
  }

  get isEnded(): boolean {
    return this.ended;
  }

  close(): void {
    const s = this.stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
    s?.destroy?.();
  }
}
