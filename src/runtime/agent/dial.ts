import type { Net } from '../../net/net.ts';
import type { DialOutcome, DialRequest } from '../agent-protocol.ts';

/**
 * A plain TCP exchange from inside a host (no SOCKS): connect, send, read until the peer closes
 * or goes quiet. Used for the BIND peer's connection and for reachability checks, always from
 * inside a container, never from the machine running the lab.
 */

export type { DialOutcome, DialRequest };

export async function dial(net: Net, request: DialRequest): Promise<DialOutcome> {
  const started = Date.now();
  let conn: Awaited<ReturnType<Net['connect']>>;
  try {
    conn = await net.connect({
      host: request.host,
      port: request.port,
      timeoutMs: request.timeoutMs ?? 3_000,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, received: '', error: e.code ?? e.message, durationMs: Date.now() - started };
  }
  const { socket } = conn;
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve) => {
    let idle: NodeJS.Timeout | undefined;
    const bump = () => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => socket.destroy(), request.idleMs ?? 300);
    };
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      bump();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (idle) clearTimeout(idle);
      resolve();
    });
    socket.on('end', () => socket.end());
    if (request.send !== undefined) socket.write(request.send);
    bump();
  });
  return {
    ok: true,
    local: conn.local,
    received: Buffer.concat(chunks).toString('latin1'),
    durationMs: Date.now() - started,
  };
}
