import { execa } from 'execa';
import { SockslabError } from '../../common/errors.ts';
import { type AgentLine, decodeLine, LineSplitter } from '../agent-protocol.ts';
import type { HostSpec } from '../host-spec.ts';
import { agentScript } from './host-filesystem.ts';

/**
 * One host's agent (src/cli/host-agent.ts `serve`) as a real process inside the host's network
 * namespace and a private mount namespace (host-filesystem.ts). `ip netns exec`, `unshare` and
 * `sh` all exec, so the PID we hold is the agent's own node process. Its stdout is JSON lines.
 */

export interface AgentProcessOptions {
  readonly namespace: string;
  readonly spec: HostSpec;
  readonly overlays: readonly string[];
  /** Project root, bound on /app inside the host. */
  readonly appRoot: string;
  readonly node: string;
  readonly onLine: (line: AgentLine) => void;
}

/** Longest host spec passed in the environment (Linux limits one string to 128 KiB). */
const maxSpecBytes = 120 * 1024;

function spawnAgent(options: AgentProcessOptions, specJson: string) {
  return execa(
    'ip',
    [
      'netns',
      'exec',
      options.namespace,
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      agentScript(options.overlays),
      'sockslab-host',
      options.appRoot,
      options.node,
    ],
    {
      cwd: '/',
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/tmp', SOCKSLAB_HOST_SPEC: specJson },
      extendEnv: false,
      stdin: 'ignore',
      buffer: false,
      reject: false,
      // If the driver dies, execa kills the agent on the way out.
      cleanup: true,
    },
  );
}

type AgentSubprocess = ReturnType<typeof spawnAgent>;

export class AgentProcess {
  // Held in an object, never returned from an async function: the subprocess is a thenable.
  private readonly child: { readonly proc: AgentSubprocess };
  private readonly exited: Promise<void>;
  private exitInfo: { code: number | null; signal: string | null } | undefined;
  private readonly stderrTail: string[] = [];
  private readonly textTail: string[] = [];
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readyState: 'waiting' | 'ready' | Error = 'waiting';

  constructor(private readonly options: AgentProcessOptions) {
    const specJson = JSON.stringify(options.spec);
    if (Buffer.byteLength(specJson) > maxSpecBytes) {
      throw new SockslabError(
        'E_NETNS_SPEC',
        `host ${options.spec.host}: its spec is ${Buffer.byteLength(specJson)} bytes, over ${maxSpecBytes}`,
      );
    }
    const proc = spawnAgent(options, specJson);
    this.child = { proc };
    const split = new LineSplitter();
    proc.stdout?.setEncoding('utf8');
    proc.stdout?.on('data', (chunk: string) => {
      for (const text of split.push(chunk)) this.line(text);
    });
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => this.keep(this.stderrTail, chunk));
    this.exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        for (const text of split.flush()) this.line(text);
        this.exitInfo = { code, signal };
        this.settleReady(new Error(`the agent of host ${options.spec.host} exited (${this.describeExit()})`));
        resolve();
      });
      proc.once('error', () => resolve());
    });
    // The ResultPromise itself is not awaited by anyone; keep its settlement quiet.
    proc.then(
      () => {},
      () => {},
    );
  }

  get pid(): number | undefined {
    return this.child.proc.pid;
  }

  get host(): string {
    return this.options.spec.host;
  }

  get alive(): boolean {
    return this.exitInfo === undefined && this.child.proc.exitCode === null;
  }

  private keep(tail: string[], text: string): void {
    tail.push(text);
    while (tail.length > 20) tail.shift();
  }

  private line(text: string): void {
    const line = decodeLine(text);
    if (!line) {
      if (text.trim()) this.keep(this.textTail, text);
      return;
    }
    if (line.k === 'ready') this.settleReady('ready');
    else if (line.k === 'fatal') this.settleReady(new Error(`host ${this.host}: ${line.message}`));
    else if (line.k === 'text') this.keep(this.textTail, `${line.from}: ${line.text}`);
    this.options.onLine(line);
  }

  private settleReady(state: 'ready' | Error): void {
    if (this.readyState !== 'waiting') return;
    this.readyState = state;
    for (const w of this.readyWaiters) state === 'ready' ? w.resolve() : w.reject(state);
    this.readyWaiters = [];
  }

  private describeExit(): string {
    const e = this.exitInfo;
    const how = e ? (e.signal ? `signal ${e.signal}` : `code ${e.code}`) : 'still running';
    const said = [...this.textTail, ...this.stderrTail].join(' | ').trim();
    return said ? `${how}: ${said.slice(-600)}` : how;
  }

  /** Resolves at the agent's `ready` line; rejects when it fails, exits, or takes too long. */
  ready(timeoutMs: number): Promise<void> {
    const state = this.readyState;
    if (state === 'ready') return Promise.resolve();
    if (state instanceof Error) return Promise.reject(state);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`host ${this.host} was not ready within ${timeoutMs} ms (${this.describeExit()})`),
          ),
        timeoutMs,
      );
      this.readyWaiters.push({
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** SIGTERM (the agent stops its services), SIGKILL after `graceMs`; resolves when it is gone. */
  async stop(graceMs: number): Promise<void> {
    if (!this.alive) return;
    this.child.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.child.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
