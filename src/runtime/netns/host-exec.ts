import { execa } from 'execa';
import { type AgentLine, decodeLine } from '../agent-protocol.ts';

/**
 * Runs a command inside a running host: `nsenter` joins the host's network namespace and the
 * agent's mount namespace (so the command sees the host's addresses and its private
 * /etc/sockslab), then drops to the given uid/gid with no supplementary groups, so identd finds
 * that uid in /proc/net/tcp. The network namespace is named by its /run/netns file, never by the
 * agent's PID: a PID reused by a process of the root namespace must not put the probe there.
 */

export interface HostExecResult {
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export async function execInHost(
  namespace: string,
  agentPid: number,
  uid: number,
  argv: readonly string[],
  onLine: (line: AgentLine) => void,
  timeoutMs: number,
): Promise<HostExecResult> {
  const proc = execa(
    'nsenter',
    [
      `--net=/run/netns/${namespace}`,
      `--mount=/proc/${agentPid}/ns/mnt`,
      '-S',
      String(uid),
      '-G',
      String(uid),
      '--',
      ...argv,
    ],
    {
      cwd: '/',
      env: { PATH: '/usr/bin:/bin', HOME: '/tmp' },
      extendEnv: false,
      stdin: 'ignore',
      reject: false,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      cleanup: true,
    },
  );
  // Lines as they come (a BIND probe's `bound` must be acted on while the probe still waits).
  try {
    for await (const text of proc) {
      const line = decodeLine(String(text));
      if (line) onLine(line);
    }
  } catch {
    // a failed or killed command: its result below says how
  }
  const r = await proc;
  return {
    exitCode: r.exitCode,
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    timedOut: r.timedOut,
  };
}
