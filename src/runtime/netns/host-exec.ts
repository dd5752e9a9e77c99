import { execa } from 'execa';
import type { ProberChannel } from '../agent-prober.ts';

/**
 * Runs a command inside a running host: `nsenter` joins the host's network namespace and the
 * agent's mount namespace (so the command sees the host's addresses and its private
 * /etc/sockslab), then drops to the given uid/gid with no supplementary groups, so identd finds
 * that uid in /proc/net/tcp. The network namespace is named by its /run/netns file, never by the
 * agent's PID: a PID reused by a process of the root namespace must not put the probe there.
 */

/** nsenter's arguments: the host's network namespace, the agent's mount namespace, the uid. */
function enter(namespace: string, agentPid: number, uid: number, argv: readonly string[]): string[] {
  return [
    `--net=/run/netns/${namespace}`,
    `--mount=/proc/${agentPid}/ns/mnt`,
    '-S',
    String(uid),
    '-G',
    String(uid),
    '--',
    ...argv,
  ];
}

const hostEnv = { PATH: '/usr/bin:/bin', HOME: '/tmp' };

/** A long-lived command in the host as `uid` with a pipe to its stdin (a prober, agent-prober.ts). */
export function openInHost(
  namespace: string,
  agentPid: number,
  uid: number,
  argv: readonly string[],
): ProberChannel {
  const proc = execa('nsenter', enter(namespace, agentPid, uid, argv), {
    cwd: '/',
    env: hostEnv,
    extendEnv: false,
    stdin: 'pipe',
    buffer: false,
    reject: false,
    // If the driver dies, execa kills the prober on the way out.
    cleanup: true,
  });
  let stderr = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2_000);
  });
  proc.stdout?.setEncoding('utf8');
  proc.stdin?.on('error', () => {});
  const held = { proc };
  return {
    write: (text) => {
      held.proc.stdin?.write(text);
    },
    onStdout: (listener) => {
      held.proc.stdout?.on('data', listener);
    },
    ended: (async () => {
      const r = await held.proc;
      return `exit ${r.exitCode ?? r.signal ?? '?'}${stderr.trim() ? `: ${stderr.trim()}` : ''}`;
    })(),
    close: () => {
      held.proc.stdin?.end();
      held.proc.kill('SIGTERM');
    },
  };
}
