import { spawn } from 'node:child_process';
import type { CommandRunner } from './options.ts';

/**
 * c.10 execution: `/bin/sh -c <command>` with stdin/stdout/stderr on /dev/null, the server's
 * environment and user, in its own process group so a signal to the server's group does not hit
 * it. The wait is per session (a promise), never blocking other sessions; after `timeoutMs` we
 * stop waiting and leave the child running (b.7).
 */
export class ShellCommandRunner implements CommandRunner {
  constructor(private readonly shell = '/bin/sh') {}

  run(
    command: string,
    options: { readonly timeoutMs: number },
  ): Promise<{ readonly status: 'ran' | 'timeout' | 'spawn-failed'; readonly exitCode?: number | null }> {
    return new Promise((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const done = (r: { status: 'ran' | 'timeout' | 'spawn-failed'; exitCode?: number | null }) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        resolve(r);
      };
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(this.shell, ['-c', command], { stdio: 'ignore', detached: true });
      } catch {
        done({ status: 'spawn-failed' });
        return;
      }
      child.once('error', () => done({ status: 'spawn-failed' }));
      child.once('exit', (code) => done({ status: 'ran', exitCode: code }));
      timer = setTimeout(() => {
        child.unref();
        done({ status: 'timeout' });
      }, options.timeoutMs);
      timer.unref();
    });
  }
}
