import type { EventSink } from '../../../common/events.ts';
import type { Listener, Net } from '../../../net/net.ts';
import type { EchoService } from '../../../topology/model.ts';

/**
 * The destination services of a host, with the same behaviour as the local runtime's: echo (bytes
 * back), discard (swallow), http-ok (one HTTP response to the first data) and banner (a greeting
 * line on accept). Each connection emits one `echo` event when it closes, with the bytes it got.
 */

function httpOk(host: string): string {
  const body = `${host} ok\n`;
  return `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

async function listenOne(
  net: Net,
  host: string,
  service: EchoService,
  events: EventSink,
  listenHost: string,
): Promise<Listener> {
  return net.listen({ host: listenHost, port: service.port }, (conn) => {
    const { socket } = conn;
    let bytes = 0;
    let answered = false;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (service.kind === 'echo') socket.write(chunk);
      if (service.kind === 'http-ok' && !answered) {
        answered = true;
        socket.end(httpOk(host));
      }
    });
    socket.on('end', () => socket.end());
    socket.once('close', () => {
      events.emit({
        type: 'echo',
        t: Date.now(),
        host,
        service: 'echo',
        peer: conn.remote,
        local: conn.local,
        kind: service.kind,
        bytes,
      });
    });
    if (service.kind === 'banner') socket.write(`${service.banner ?? `${host} ready`}\r\n`);
  });
}

export async function startEchoServices(
  net: Net,
  host: string,
  services: readonly EchoService[],
  events: EventSink,
  listenHost = '0.0.0.0',
): Promise<{ close(): Promise<void> }> {
  const listeners = await Promise.all(services.map((s) => listenOne(net, host, s, events, listenHost)));
  return { close: async () => void (await Promise.all(listeners.map((l) => l.close()))) };
}
