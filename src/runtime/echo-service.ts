import type { EventSink } from '../common/events.ts';
import type { Listener, Net } from '../net/net.ts';
import type { EchoService } from '../topology/model.ts';

/**
 * The destination services of a host, over its Net, the same on every runtime (in-process on
 * the local one, inside the host agent on netns and docker): echo (bytes back), discard
 * (swallow), http-ok (one HTTP response to the first data) and banner (a greeting line on
 * accept). Each connection emits one `echo` event when it closes, with the peer it saw (in the
 * host's own terms) and the bytes it got, so traces show which address reached the destination.
 */
export interface EchoServiceOptions {
  readonly net: Net;
  readonly host: string;
  readonly service: EchoService;
  readonly events?: EventSink;
  readonly now?: () => number;
  /** Listen address (default every address of the host). */
  readonly listenHost?: string;
}

function httpOk(host: string): string {
  const body = `${host} ok\n`;
  return `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

export async function startEchoService(options: EchoServiceOptions): Promise<Listener> {
  const { service, host } = options;
  const now = options.now ?? Date.now;
  return options.net.listen({ host: options.listenHost ?? '0.0.0.0', port: service.port }, (conn) => {
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

/** Every echo service of a host; `close` stops them all. */
export async function startEchoServices(
  net: Net,
  host: string,
  services: readonly EchoService[],
  events: EventSink,
  listenHost = '0.0.0.0',
): Promise<{ close(): Promise<void> }> {
  const listeners = await Promise.all(
    services.map((service) => startEchoService({ net, host, service, events, listenHost })),
  );
  return { close: async () => void (await Promise.all(listeners.map((l) => l.close()))) };
}
