import { createConnection } from 'node:net';
import { type ControlReply, type ControlRequest, LineSplitter } from '../agent-protocol.ts';
import { ImagePaths } from '../host-spec.ts';

/**
 * Control requests to a host agent over its unix socket. The socket lives in the agent's private
 * /tmp; `/proc/<pid>/root` reaches it from the driver without entering any namespace (a unix
 * socket is a file, not a network address), and without starting a process per request.
 */

export function controlSocketPath(agentPid: number): string {
  return `/proc/${agentPid}/root${ImagePaths.control}`;
}

export function sendAgentControl(
  agentPid: number,
  request: ControlRequest,
  timeoutMs = 15_000,
): Promise<ControlReply> {
  return new Promise((resolve) => {
    const socket = createConnection(controlSocketPath(agentPid));
    const split = new LineSplitter();
    let done = false;
    const finish = (reply: ControlReply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    };
    const timer = setTimeout(
      () => finish({ ok: false, error: `no reply to ${request.op} within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.setEncoding('utf8');
    socket.on('error', (err) => finish({ ok: false, error: `control socket: ${err.message}` }));
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      const [line] = split.push(chunk);
      if (line === undefined) return;
      try {
        finish(JSON.parse(line) as ControlReply);
      } catch {
        finish({ ok: false, error: `control reply is not JSON: ${line.slice(0, 200)}` });
      }
    });
    socket.on('end', () =>
      finish({ ok: false, error: 'the agent closed the control connection without a reply' }),
    );
  });
}
