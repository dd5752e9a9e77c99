import { spawn } from 'node:child_process';
import { join } from 'node:path';
import test from 'ava';
import { type ProberChannel, ProberPool } from '../../../src/runtime/agent-prober.ts';
import type { AgentLine } from '../../../src/runtime/agent-protocol.ts';
import type { ProbeRequest } from '../../../src/runtime/runtime.ts';
import { projectRoot } from '../../helpers/seed-topology.ts';

/**
 * The driver's side of the long-lived probers, against the real `host-agent probes` process
 * (src/cli/host-agent.ts, run here with tsx, SOCKSLAB_* paths pointing at a scratch host): probes
 * side by side answered by id, a prober started once per host and user, and one that dies failing
 * what it had in hand and started again for the next request.
 */

function agentChannel(opened: string[], host: string, uid: number): ProberChannel {
  opened.push(`${host}/${uid}`);
  const child = spawn(
    process.execPath,
    ['--import=tsx', join(projectRoot, 'src/cli/host-agent.ts'), 'probes'],
    { cwd: projectRoot, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  child.stdout.setEncoding('utf8');
  return {
    write: (text) => child.stdin.write(text),
    onStdout: (listener) => child.stdout.on('data', listener),
    ended: new Promise((resolve) =>
      child.on('close', (code, signal) => resolve(`exit ${code ?? signal}: ${stderr.trim()}`)),
    ),
    close: () => child.stdin.end(),
  };
}

/** A dial request to a port nothing listens on: answered at once with an error, no lab needed. */
const refusedDial = { host: '127.0.0.1', port: 9, timeoutMs: 2_000 };

test('dials sent side by side to one prober are each answered under their own id, and the prober is started once', async (t) => {
  const opened: string[] = [];
  const pool = new ProberPool((host, uid) => agentChannel(opened, host, uid));
  t.teardown(() => pool.close());
  const outcomes = await Promise.all(
    [1, 2, 3].map((i) => pool.dial('C', 1001, { ...refusedDial, send: `n${i}` }, 20_000)),
  );
  t.is(outcomes.length, 3);
  for (const o of outcomes) {
    t.false(o.ok);
    t.regex(o.error ?? '', /ECONNREFUSED|refused/i);
  }
  t.deepEqual(opened, ['C/1001']);
  await pool.dial('C', 1002, refusedDial, 20_000);
  t.deepEqual(opened, ['C/1001', 'C/1002'], 'one prober per host and user');
});

test('a probe whose prober cannot answer fails with why, and the next request starts a new prober', async (t) => {
  const opened: string[] = [];
  let broken = true;
  const pool = new ProberPool((host, uid) => {
    if (!broken) return agentChannel(opened, host, uid);
    opened.push('broken');
    // A prober that exits at once (the host's agent gone, say).
    return {
      write: () => {},
      onStdout: () => {},
      ended: new Promise((resolve) => setTimeout(() => resolve('exit 1: no such host'), 20)),
      close: () => {},
    };
  });
  t.teardown(() => pool.close());
  const request = { from: 'C', user: 'x', protocol: 'socks4' } as unknown as ProbeRequest;
  const lines: AgentLine[] = [];
  const err = await t.throwsAsync(pool.probe('C', 1001, request, (l) => lines.push(l), 5_000));
  t.regex(err.message, /host C uid 1001: prober ended \(exit 1: no such host\) with request 1 unanswered/);
  broken = false;
  t.false((await pool.dial('C', 1001, refusedDial, 20_000)).ok);
  t.deepEqual(opened, ['broken', 'C/1001']);
});

test('a request nobody answers in time fails naming the prober and the wait', async (t) => {
  const pool = new ProberPool(() => ({
    write: () => {},
    onStdout: () => {},
    ended: new Promise<string>(() => {}),
    close: () => {},
  }));
  const err = await t.throwsAsync(pool.dial('B', 0, refusedDial, 50));
  t.regex(err.message, /host B uid 0: request 1 unanswered after 50 ms/);
  pool.close();
  await t.throwsAsync(pool.dial('B', 0, refusedDial, 50), { message: /the lab is down/ });
});
