import type { EventSink } from '../../../common/events.ts';
import type { Listener, Net } from '../../../net/net.ts';
import type { EchoKind, EchoService } from '../../../topology/model.ts';

/**
 * The destination services of a host: echo (bytes back), discard (swallow), http-ok (one HTTP
 * response after the request head) and banner (a greeting line, then echo). Each connection
 * emits one `echo` event when it closes, with the bytes it received.
 */

const httpResponse =
  'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n';

export function bannerLine(host: string): string {
  return `sockslab banner from ${host}\r\n`;
}

async function listenOne(net: Net, host: string, service: EchoService, events: EventSink): Promise<Listener> {
  const kind: EchoKind = service.kind;
  return net.listen({ host: '0.0.0.0', port: service.port }, (conn) => {
    const { socket } = conn;
    let bytes = 0;
    let head = '';
    socket.on('error', () => socket.destroy());
    if (kind === 'banner') socket.write(bannerLine(host));
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (kind === 'echo' || kind === 'banner') socket.write(chunk);
      if (kind === 'http-ok' && head !== null) {
        head += chunk.toString('latin1');
        if (head.includes('\r\n\r\n') || head.includes('\n\n')) socket.end(httpResponse);
      }
    });
    socket.on('end', () => socket.end());
    socket.on('close', () => {
      events.emit({
        type: 'echo',
        t: Date.now(),
        host,
        service: 'echo',
        peer: conn.remote,
        local: conn.local,
        kind,
        bytes,
      });
    });
  });
}

export async function startEchoServices(
  net: Net,
  host: string,
  services: readonly EchoService[],
  events: EventSink,
): Promise<{ close(): Promise<void> }> {
  const listeners = await Promise.all(services.map((s) => listenOne(net, host, s, events)));
  return { close: async () => void (await Promise.all(listeners.map((l) => l.close()))) };
}
