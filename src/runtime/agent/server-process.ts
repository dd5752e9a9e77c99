import { type ChildProcess, spawn } from 'node:child_process';
import { chown, readFile, writeFile } from 'node:fs/promises';
import type { LabEvent } from '../../common/events.ts';
import { LineSplitter } from '../agent-protocol.ts';
import type { ServerSpec } from '../host-spec.ts';
import { FileTail } from './file-tail.ts';

/**
 * The rsockd/sockd CLI as a child process of the host agent. It starts as root and becomes the
 * topology's server owner itself (`--user`, after binding), so /proc/net/tcp, and therefore
 * identd, attributes its sessions' sockets to that user. Its events
 * file is tailed (JSON objects with a `type` are events); its stdout and stderr are text lines.
 */

export interface ServerOutput {
  event(event: LabEvent): void;
  text(stream: 'stdout' | 'stderr', line: string): void;
  exit(code: number | null, signal: string | null): void;
}

/** Whether something listens on TCP `port` (any address), read from /proc/net/tcp{,6}. */
export async function isListening(port: number): Promise<boolean> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // cols[1] = local address:port (hex), cols[3] = state (0A = LISTEN)
      if (cols[3] === '0A' && cols[1]?.endsWith(`:${hex}`)) return true;
    }
  }
  return false;
}

function parseEvent(line: string): LabEvent | null {
  if (!line.startsWith('{')) return null;
  try {
    const v = JSON.parse(line) as unknown;
    if (v && typeof v === 'object' && 'type' in v && typeof v.type === 'string' && 't' in v)
      return v as LabEvent;
  } catch {
    // a text line that happens to start with a brace
  }
  return null;
}

export class ServerProcess {
  private child: ChildProcess | undefined;
  private tail: FileTail | undefined;

  constructor(
    private readonly spec: ServerSpec,
    private readonly script: string,
    private readonly eventsFile: string,
    private readonly cwd: string,
    private readonly output: ServerOutput,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawns the server and resolves once its port is listening (or rejects when it exits first). */
  async start(readyTimeoutMs: number): Promise<void> {
    if (this.running) return;
    // The events file belongs to the server's owner, who appends; the agent reads from the end.
    await writeFile(this.eventsFile, '', { flag: 'a', mode: 0o644 });
    await chown(this.eventsFile, this.spec.uid, this.spec.gid);
    const tail = new FileTail(this.eventsFile, (line) => {
      const event = parseEvent(line.trim());
      if (event) this.output.event(event);
    });
    await tail.start();
    this.tail = tail;
    // Started as root: the server's own --user (in spec.argv) drops to the owner after binding.
    const child = spawn(process.execPath, [this.script, ...this.spec.argv], {
      cwd: this.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/bin:/bin', HOME: '/tmp', USER: this.spec.owner, LOGNAME: this.spec.owner },
    });
    this.child = child;
    for (const stream of ['stdout', 'stderr'] as const) {
      const split = new LineSplitter();
      const source = child[stream];
      source?.setEncoding('utf8');
      const handle = (line: string) => {
        if (line.trim()) this.output.text(stream, line);
      };
      source?.on('data', (chunk: string) => split.push(chunk).forEach(handle));
      source?.on('end', () => split.flush().forEach(handle));
    }
    let exited = false;
    child.on('exit', (code, signal) => {
      exited = true;
      // The last events are flushed at exit: read them before reporting the exit.
      void tail.stop().finally(() => this.output.exit(code, signal));
    });
    const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
    spawnError.catch(() => {});
    const deadline = Date.now() + readyTimeoutMs;
    while (!(await isListening(this.spec.port))) {
      if (exited) throw new Error(`${this.spec.kind} exited before listening on port ${this.spec.port}`);
      if (Date.now() > deadline)
        throw new Error(`${this.spec.kind} did not listen on port ${this.spec.port} in ${readyTimeoutMs} ms`);
      await Promise.race([new Promise((r) => setTimeout(r, 15)), spawnError]);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
  async stop(graceMs: number): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
    await this.tail?.stop();
  }

  /** SIGHUP: the server re-reads its files and keeps the old ones when the new ones are bad. */
  reload(): boolean {
    if (!this.child || !this.running) return false;
    return this.child.kill('SIGHUP');
  }
}
