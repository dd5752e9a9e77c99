import { createServer, type Server } from 'node:http';

/**
 * The HTTP side of `--metrics ADDR:PORT`: `GET /metrics` (Prometheus text) and `GET /healthz`
 * (200 `ok` while serving, 503 `stopping` while draining or with no worker up). It reads no
 * request bodies and keeps no connection longer than a scrape needs.
 */

export interface MetricsSource {
  /** The exposition text and its content type (one process, or every --workers worker summed). */
  scrape(): Promise<{ readonly text: string; readonly contentType: string }>;
  /** Whether the server takes new connections. */
  healthy(): boolean;
}

export interface MetricsEndpoint {
  readonly address: { readonly host: string; readonly port: number };
  close(): Promise<void>;
}

/** A scrape or probe is one short request; a client that takes longer is dropped. */
const RequestTimeoutMs = 10_000;

export async function startMetricsEndpoint(
  listen: { readonly host: string; readonly port: number },
  source: MetricsSource,
): Promise<MetricsEndpoint> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      const ok = source.healthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'stopping\n');
      return;
    }
    if (path === '/metrics') {
      source.scrape().then(
        ({ text, contentType }) => res.writeHead(200, { 'content-type': contentType }).end(text),
        (err: unknown) =>
          res
            .writeHead(500, { 'content-type': 'text/plain' })
            .end(`metrics unavailable: ${err instanceof Error ? err.message : String(err)}\n`),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
  });
  server.requestTimeout = RequestTimeoutMs;
  server.headersTimeout = RequestTimeoutMs;
  server.keepAliveTimeout = RequestTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : listen.port;
  return {
    address: { host: listen.host, port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
