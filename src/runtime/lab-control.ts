import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { SockslabError } from '../common/errors.ts';
import type { LabEvent } from '../common/events.ts';
import type { Lab, ProbeOutcome, ProbeRequest } from './runtime.ts';

/**
 * The control endpoint of a running lab (`sockslab up`): HTTP on 127.0.0.1 with a random bearer
 * token, so `sockslab probe` in another terminal can run a probe inside the lab and get its
 * outcome plus the events it caused. Only this machine's loopback, never another interface.
 */
export interface LabControlState {
  readonly topology: string;
  readonly name: string;
  readonly runtime: string;
  readonly runId: string;
  readonly pid: number;
  readonly url: string;
  readonly token: string;
  readonly startedAt: string;
}

export interface ControlProbeResult {
  readonly outcome: ProbeOutcome;
  /** Every event from the start of the probe until the lab settled after it. */
  readonly events: readonly LabEvent[];
}

export interface LabControl {
  readonly url: string;
  readonly token: string;
  close(): Promise<void>;
}

const SettleMs = 150;

export async function startLabControl(
  lab: Lab,
  options: { readonly onDown?: () => void } = {},
): Promise<LabControl> {
  const token = randomBytes(18).toString('base64url');
  // One probe at a time, so the events of concurrent probes do not mix.
  let queue: Promise<unknown> = Promise.resolve();
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: 'bad token' });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown) : null;
      if (req.method === 'GET' && req.url === '/lab') {
        return send(200, { name: lab.topology.name, runId: lab.runId, runtime: lab.runtime });
      }
      if (req.method === 'POST' && req.url === '/probe') {
        const job = queue.then(async () => {
          const mark = lab.events().length;
          const outcome = await lab.probe(body as ProbeRequest);
          await new Promise((r) => setTimeout(r, SettleMs));
          return { outcome, events: lab.events().slice(mark) } satisfies ControlProbeResult;
        });
        queue = job.catch(() => {});
        job.then(
          (result) => send(200, result),
          (err: unknown) =>
            send(400, {
              error: err instanceof Error ? err.message : String(err),
              code: (err as { code?: string }).code,
            }),
        );
        return;
      }
      if (req.method === 'POST' && req.url === '/down') {
        send(200, { ok: true });
        options.onDown?.();
        return;
      }
      send(404, { error: `no such endpoint ${req.method} ${req.url}` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function call<T>(
  state: Pick<LabControlState, 'url' | 'token'>,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const url = new URL(path, state.url);
  if (url.hostname !== '127.0.0.1')
    throw new SockslabError('E_LAB_CONTROL', `control endpoint ${state.url} is not on 127.0.0.1`);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method,
        headers: {
          authorization: `Bearer ${state.token}`,
          ...(payload
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as T & {
            error?: string;
            code?: string;
          };
          if ((res.statusCode ?? 500) >= 400) {
            reject(
              new SockslabError(parsed?.code ?? 'E_LAB_CONTROL', parsed?.error ?? `HTTP ${res.statusCode}`),
            );
          } else resolve(parsed);
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export function controlProbe(
  state: Pick<LabControlState, 'url' | 'token'>,
  request: ProbeRequest,
): Promise<ControlProbeResult> {
  return call(state, 'POST', '/probe', request);
}

export function controlInfo(
  state: Pick<LabControlState, 'url' | 'token'>,
): Promise<{ name: string; runId: string }> {
  return call(state, 'GET', '/lab');
}

export function controlDown(state: Pick<LabControlState, 'url' | 'token'>): Promise<{ ok: boolean }> {
  return call(state, 'POST', '/down');
}
