import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import type { LabEvent } from '../../src/common/events.ts';
import { waitListening } from './interop-net.ts';

/**
 * Real processes for the interop tests: daemons (rsockd/sockd through tsx, danted, oidentd)
 * whose output is collected line by line, and one-shot client runs (curl, proxychains4,
 * socksify). Every process is started in its own process group and ended by that id, so forked
 * helpers (danted's children, Dante's connect child) go with it.
 */

const repoRoot = resolve(import.meta.dirname, '../..');

/**
 * How long to wait for a daemon to listen or for an expected line. Generous, because a loaded
 * CI machine can take many seconds to start node + tsx; a passing run never waits this long.
 */
const patienceMs = 30_000;

/** Environment for clients: no proxy variables from the caller's shell leak into curl. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    http_proxy: undefined,
    https_proxy: undefined,
    HTTP_PROXY: undefined,
    HTTPS_PROXY: undefined,
    ALL_PROXY: undefined,
    all_proxy: undefined,
    no_proxy: undefined,
    NO_PROXY: undefined,
    SOCKS_SERVER: undefined,
    SOCKS_CONF: undefined,
    SOCKD_CONF: undefined,
    PROXYCHAINS_CONF_FILE: undefined,
    ...extra,
  };
}

/** A scratch directory removed by `dispose`. */
export interface Scratch {
  readonly dir: string;
  /** Write `text` to `name` in the directory; returns the path. */
  file(name: string, text: string): string;
  dispose(): void;
}

export function scratchDir(label: string): Scratch {
  const dir = mkdtempSync(join(tmpdir(), `sockslab-interop-${label}-`));
  return {
    dir,
    file(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface Daemon {
  readonly name: string;
  /** Its process id, which is also its process group id (stop() signals the group). */
  readonly pid: number;
  /** Output lines (stdout and stderr interleaved) as they arrive. */
  readonly lines: string[];
  /** Resolves with the first line that matches, waiting up to `timeoutMs`. */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Why it is no longer running, or null while it runs. */
  exited(): string | null;
  /** SIGTERM to its process group, SIGKILL after a grace period; never throws. */
  stop(): Promise<void>;
}

export interface DaemonSpec {
  readonly name: string;
  readonly file: string;
  readonly args: readonly string[];
  readonly env?: Record<string, string | undefined>;
  /** Considered started once this accepts TCP connections, or once it prints a matching line. */
  readonly ready:
    | { readonly host: string; readonly port: number }
    | { readonly line: (line: string) => boolean };
  readonly startTimeoutMs?: number;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/** Start a long-running process and wait until it listens. */
export async function startDaemon(spec: DaemonSpec): Promise<{ daemon: Daemon }> {
  const proc = execa(spec.file, spec.args, {
    cwd: repoRoot,
    env: cleanEnv(spec.env),
    reject: false,
    detached: true,
    stdin: 'ignore',
    all: true,
    buffer: false,
  });
  const pid = proc.pid;
  if (pid === undefined) {
    await proc;
    throw new Error(`${spec.name}: could not start ${spec.file}`);
  }
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let partial = '';
  proc.all?.setEncoding('utf8');
  proc.all?.on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of waiters) w();
  });
  let exitReason: string | null = null;
  const finished = proc.then((r) => {
    if (partial !== '') lines.push(partial);
    partial = '';
    exitReason = `${spec.name} exited (${r.signal ?? `status ${r.exitCode}`}): ${lines.slice(-8).join(' | ')}`;
    for (const w of waiters) w();
  });
  const daemon: Daemon = {
    name: spec.name,
    pid,
    lines,
    exited: () => exitReason,
    waitForLine(match, timeoutMs = patienceMs) {
      return new Promise((resolvePromise, reject) => {
        const check = () => {
          const hit = lines.find(match);
          if (hit !== undefined) {
            done();
            resolvePromise(hit);
          } else if (exitReason) {
            done();
            reject(new Error(`${spec.name}: no matching line before exit; ${exitReason}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${spec.name}: no matching line in ${timeoutMs} ms; got:\n${lines.join('\n')}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (exitReason === null) killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 2000);
      await finished;
      clearTimeout(timer);
      // Children that outlived their parent in the same group (danted's) go too.
      killGroup(pid, 'SIGKILL');
    },
  };
  try {
    const timeout = spec.startTimeoutMs ?? patienceMs;
    if ('line' in spec.ready) await daemon.waitForLine(spec.ready.line, timeout);
    else await waitListening(spec.ready.host, spec.ready.port, timeout, daemon.exited);
  } catch (err) {
    await daemon.stop();
    throw new Error(`${spec.name} did not start: ${(err as Error).message}\n${lines.join('\n')}`);
  }
  return { daemon };
}

export interface RsockdSpec {
  readonly program?: 'rsockd' | 'sockd';
  readonly scratch: Scratch;
  /** Distinguishes this server's files within the scratch directory. */
  readonly label: string;
  readonly host: string;
  readonly port: number;
  readonly sockdConf: string;
  /** socks.conf text (rsockd only); omitted = no file (everything direct). */
  readonly socksConf?: string;
  /** hosts-style fixture for the resolver (`--hosts`); always given, so no real DNS is used. */
  readonly hosts?: string;
  readonly upstreamPort?: number;
  readonly identdPort?: number;
  readonly extraArgs?: readonly string[];
  /** Extra environment (e.g. SOCKS_SERVER); the caller's proxy variables are never passed on. */
  readonly env?: Record<string, string>;
}

/** Where startRsockd has the server write its JSON-lines events (`--events`). */
export function eventsPath(spec: Pick<RsockdSpec, 'scratch' | 'label'>): string {
  return join(spec.scratch.dir, `${spec.label}.events.jsonl`);
}

/** Start the real rsockd or sockd CLI (through tsx) in standalone mode, logging to stderr. */
export async function startRsockd(spec: RsockdSpec): Promise<{ daemon: Daemon }> {
  const program = spec.program ?? 'rsockd';
  const f = (suffix: string) => join(spec.scratch.dir, `${spec.label}.${suffix}`);
  const args = [
    '--import=tsx',
    `src/cli/${program}.ts`,
    '--standalone',
    '--listen',
    spec.host,
    '--port',
    String(spec.port),
    '--conf',
    spec.scratch.file(`${spec.label}.sockd.conf`, spec.sockdConf),
    // Every other file points into the scratch directory so the machine's /etc never counts.
    '--fc',
    f('sockd.fc'),
    '--client-fc',
    f('socks.fc'),
    '--route',
    f('sockd.route'),
    '--fr',
    f('sockd.fr'),
    '--client-conf',
    spec.socksConf === undefined
      ? f('socks.conf')
      : spec.scratch.file(`${spec.label}.socks.conf`, spec.socksConf),
    '--hosts',
    spec.scratch.file(`${spec.label}.hosts`, spec.hosts ?? ''),
    '--pidfile',
    f('pid'),
    '--log',
    'stderr',
    '--events',
    eventsPath(spec),
    ...(spec.upstreamPort === undefined ? [] : ['--upstream-port', String(spec.upstreamPort)]),
    ...(spec.identdPort === undefined ? [] : ['--identd-port', String(spec.identdPort)]),
    ...(spec.extraArgs ?? []),
  ];
  return startDaemon({
    name: `${program} ${spec.label}`,
    file: process.execPath,
    args,
    ...(spec.env ? { env: spec.env } : {}),
    ready: { host: spec.host, port: spec.port },
  });
}

/** The message part of a classic log line `TIMESTAMP rsockd[PID]: MESSAGE`. */
export function logMessage(line: string): string {
  const m = /^\S+ \w+\[\d+\]: (.*)$/.exec(line);
  return m ? m[1]! : line;
}

/** Classic log messages of an rsockd/sockd daemon so far. */
export function messages(d: Daemon): string[] {
  return d.lines.map(logMessage);
}

/** Wait for a classic log message that satisfies `match`. */
export async function waitForMessage(
  d: Daemon,
  match: (message: string) => boolean,
  timeoutMs = patienceMs,
): Promise<string> {
  return logMessage(await d.waitForLine((l) => match(logMessage(l)), timeoutMs));
}

export interface ToolRun {
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  /** The command line, for assertion messages. */
  readonly command: string;
}

/** Run a client to completion (own process group, killed with it on timeout). */
export async function runTool(
  file: string,
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<ToolRun> {
  const proc = execa(file, args, {
    env: cleanEnv(options.env),
    reject: false,
    detached: true,
    stdin: 'ignore',
    stripFinalNewline: false,
  });
  const pid = proc.pid;
  const timer = setTimeout(() => {
    if (pid !== undefined) killGroup(pid, 'SIGKILL');
  }, options.timeoutMs ?? patienceMs);
  try {
    const r = await proc;
    return {
      exitCode: r.exitCode,
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      command: `${file} ${args.join(' ')}`,
    };
  } finally {
    clearTimeout(timer);
    if (pid !== undefined) killGroup(pid, 'SIGKILL');
  }
}

/** The JSON-lines events written so far to an `--events` file (a partial last line is left out). */
export function readEvents(path: string): LabEvent[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const lines = text.split('\n');
  lines.pop(); // '' after the last newline, or a line still being written
  return lines.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as LabEvent);
}

/** Poll an `--events` file until an event satisfies `match`. */
export async function waitForEvent<T extends LabEvent['type']>(
  path: string,
  type: T,
  match: (e: Extract<LabEvent, { type: T }>) => boolean = () => true,
  timeoutMs = patienceMs,
): Promise<Extract<LabEvent, { type: T }>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = readEvents(path).find(
      (e): e is Extract<LabEvent, { type: T }> =>
        e.type === type && match(e as Extract<LabEvent, { type: T }>),
    );
    if (hit) return hit;
    if (Date.now() > deadline) {
      throw new Error(
        `no ${type} event in ${path} within ${timeoutMs} ms:\n${readEvents(path)
          .map((e) => JSON.stringify(e))
          .join('\n')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
