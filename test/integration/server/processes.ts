import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { connectTcp, freshAddress, randomPort } from './helpers.ts';

/**
 * The real rsockd/sockd binaries as processes (`node [nodeArgs] --import=tsx src/cli/rsockd.ts …`),
 * for the tests of what only a process has: signals, pid files, start-up flags, exit statuses.
 * Each process is killed by its pid in the test's teardown.
 */

export const root = new URL('../../../', import.meta.url).pathname;

/** `nodeArgs` go to node itself (before the program); `env` adds to the cleared SOCKS variables. */
export interface Launch {
  readonly nodeArgs?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

export type CliProcess = ReturnType<typeof cli>;

export function cli(program: 'rsockd' | 'sockd', args: readonly string[], launch: Launch = {}) {
  return execa(
    process.execPath,
    [...(launch.nodeArgs ?? []), '--import=tsx', join(root, `src/cli/${program}.ts`), ...args],
    {
      cwd: root,
      reject: false,
      env: { SOCKS_SERVER: '', SOCKD_CONF: '', SOCKD_FC: '', ...launch.env },
    },
  );
}

export async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rsockd-proc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface Standalone {
  readonly proc: CliProcess;
  readonly host: string;
  readonly port: number;
  readonly logFile: string;
  readonly pidfile: string;
}

/** Every rule file of `dir` (sockd.conf, socks.conf, sockd.route and their frozen forms). */
export function ruleFileArgs(dir: string): string[] {
  return [
    '--conf',
    join(dir, 'sockd.conf'),
    '--fc',
    join(dir, 'sockd.fc'),
    '--client-conf',
    join(dir, 'socks.conf'),
    '--client-fc',
    join(dir, 'socks.fc'),
    '--route',
    join(dir, 'sockd.route'),
    '--fr',
    join(dir, 'sockd.fr'),
  ];
}

/** Start a standalone server on a fresh loopback address; `listening: false` returns at once. */
export async function standalone(
  t: ExecutionContext,
  program: 'rsockd' | 'sockd',
  dir: string,
  extra: readonly string[] = [],
  launch: Launch = {},
  options: { readonly listening?: boolean } = {},
): Promise<Standalone> {
  const host = freshAddress();
  const port = randomPort();
  const logFile = join(dir, 'log');
  const pidfile = join(dir, 'pid');
  const proc = cli(
    program,
    [
      '--standalone',
      '--listen',
      host,
      '--port',
      String(port),
      ...ruleFileArgs(dir),
      '--pidfile',
      pidfile,
      '--log',
      logFile,
      ...(extra.includes('--hosts') ? [] : ['--hosts', '/dev/null']),
      ...extra,
    ],
    launch,
  );
  t.teardown(() => {
    if (proc.pid !== undefined && proc.exitCode === null) process.kill(proc.pid, 'SIGKILL');
  });
  const s = { proc, host, port, logFile, pidfile };
  if (options.listening !== false) await untilReady(s);
  return s;
}

/**
 * Until the server listens and has written its pid file: the pid file comes once every endpoint
 * is up, so the kernel can accept a connection a moment before it is written.
 */
async function untilReady(s: Standalone): Promise<void> {
  await untilListening(s);
  const started = Date.now();
  while (!(await readFile(s.pidfile, 'utf8').catch(() => '')).trim()) {
    if (s.proc.exitCode !== null || Date.now() - started > 90_000)
      throw new Error(`no pid file: ${(await s.proc).stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function untilListening(s: Pick<Standalone, 'proc' | 'host' | 'port'>): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      const c = await connectTcp(s.host, s.port);
      c.destroy();
      return;
    } catch {
      if (s.proc.exitCode !== null || Date.now() - started > 90_000)
        throw new Error(`server did not listen: ${(await s.proc).stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The text log's lines without their `time rsockd[pid]: ` prefix. */
export async function logLines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/^\S+ (r?sockd)\[\d+\]: /, ''));
}

export async function waitForLogLine(
  file: string,
  pred: (l: string) => boolean,
  ms = 20_000,
): Promise<string> {
  const start = Date.now();
  for (;;) {
    const found = (await logLines(file)).find(pred);
    if (found !== undefined) return found;
    if (Date.now() - start > ms)
      throw new Error(`log line not found; log:\n${(await logLines(file)).join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
