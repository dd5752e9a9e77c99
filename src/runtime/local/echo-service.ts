import type { EventSink } from '../../common/events.ts';
import type { Listener, Net } from '../../net/net.ts';
import type { EchoService } from '../../topology/model.ts';

/**
 * The destination services of echo hosts: echo, discard, http-ok and banner. Each records the
 * peer it saw (topology terms, through the host's Net) in an `echo` event when the connection
 * ends, so traces can show which address reached the destination.
 */
export interface EchoServiceOptions {
  readonly net: Net;
  readonly host: string;
  readonly service: EchoService;
  readonly events?: EventSink;
  readonly now?: () => number;
}

export async function startEchoService(options: EchoServiceOptions): Promise<Listener> {
  const { service, host } = options;
  const now = options.now ?? Date.now;
  return options.net.listen({ host: '0.0.0.0', port: service.port }, (conn) => {
    const { socket } = conn;
    let bytes = 0;
    let answered = false;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (service.kind === 'echo') socket.write(chunk);
      if (service.kind === 'http-ok' && !answered) {
        answered = true;
        const body = `${host} ok\n`;
        socket.end(
          `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      }
    });
    socket.on('end', () => socket.end());
    socket.once('close', () => {
      options.events?.emit({
        t: now(),
        host,
        service: 'echo',
        type: 'echo',
        peer: conn.remote,
        local: conn.local,
        kind: service.kind,
        bytes,
      });
    });
    if (service.kind === 'banner') socket.write(`${service.banner ?? `${host} ready`}\r\n`);
  });
}
