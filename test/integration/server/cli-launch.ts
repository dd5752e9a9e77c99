import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { connectTcp, freshAddress, randomPort } from './helpers.ts';
import { root, ruleFileArgs } from './processes.ts';

/**
 * The real rsockd CLI (`node --import=tsx src/cli/rsockd.ts`) in standalone mode on a fresh
 * loopback address, its rule files in `dir`, its text log in `dir/log`, killed by pid at the end.
 * `stdio` lets a test hand it extra descriptors (an inherited fd 200).
 */

export interface LaunchedServer {
  readonly proc: ChildProcess;
  readonly host: string;
  readonly port: number;
  readonly logFile: string;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code once the process has ended. */
  readonly exited: Promise<number | null>;
}

export async function launchRsockd(
  t: ExecutionContext,
  dir: string,
  extra: readonly string[] = [],
  options: { readonly stdio?: StdioOptions } = {},
): Promise<LaunchedServer> {
  const host = freshAddress();
  const port = randomPort();
  const logFile = join(dir, 'log');
  const argv = [
    '--import=tsx',
    join(root, 'src/cli/rsockd.ts'),
    '--standalone',
    '--listen',
    host,
    '--port',
    String(port),
    ...ruleFileArgs(dir),
    '--pidfile',
    join(dir, 'pid'),
    '--log',
    logFile,
    '--hosts',
    '/dev/null',
    ...extra,
  ];
  const proc = spawn(process.execPath, argv, {
    cwd: root,
    env: { ...process.env, SOCKS_SERVER: '', SOCKD_CONF: '', SOCKD_FC: '' },
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
    text += d;
  });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    text += d;
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) {
      process.kill(proc.pid, 'SIGKILL');
    }
  });
  const started = Date.now();
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`rsockd exited (${proc.exitCode}) before listening: ${text}`);
    try {
      const s = await connectTcp(host, port);
      s.destroy();
      break;
    } catch {
      if (Date.now() - started > 90_000) throw new Error(`rsockd did not listen: ${text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { proc, host, port, logFile, output: () => text, exited };
}

/** The classic log's lines, raw (timestamp and tag kept). */
export async function rawLogLines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l !== '');
}

/** Waits until `pred` holds for the file's lines (the log is written in batches). */
export async function waitForLines(
  file: string,
  pred: (lines: readonly string[]) => boolean,
  ms = 15_000,
): Promise<string[]> {
  const start = Date.now();
  for (;;) {
    const lines = await rawLogLines(file);
    if (pred(lines)) return lines;
    if (Date.now() - start > ms) throw new Error(`condition not met; ${file}:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until a file exists with content (a hook's output). */
export async function waitForFile(path: string, ms = 15_000): Promise<string> {
  const start = Date.now();
  for (;;) {
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text !== undefined && text !== '') return text;
    if (Date.now() - start > ms) throw new Error(`${path} was not written`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
