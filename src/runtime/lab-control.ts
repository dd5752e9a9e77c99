import { randomBytes } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { z } from 'zod';
import { SockslabError } from '../common/errors.ts';
import type { LabEvent } from '../common/events.ts';
import { oneAtATime } from '../common/one-at-a-time.ts';
import type { Lab, ProbeOutcome, ProbeRequest } from './runtime.ts';
import { probeAndSettle } from './settle.ts';

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
  /** Docker: the engine the lab lives on (a DOCKER_HOST value), so `down`/`reap` reach that engine. */
  readonly engine?: string;
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

/** A probe request is a few hundred bytes; anything far larger is not one. */
const MaxBodyBytes = 64 * 1024;

/** The body of POST /probe, checked before it reaches the lab (unknown keys are errors). */
const probeRequestSchema = z.strictObject({
  from: z.string(),
  user: z.string(),
  via: z.string().optional(),
  useSocksConf: z.boolean().optional(),
  protocol: z.enum(['socks4', 'socks4a', 'socks5']),
  credentials: z.strictObject({ username: z.string(), password: z.string() }).optional(),
  command: z.enum(['connect', 'bind']),
  target: z.strictObject({ host: z.string(), port: z.int().min(0).max(65535) }),
  send: z.string().optional(),
  bindPeer: z.strictObject({ from: z.string(), user: z.string().optional() }).optional(),
  timeoutMs: z.number().positive().optional(),
});

/** A request the endpoint refuses, with the HTTP status and a stable code for the caller. */
class ControlRequestError extends SockslabError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, message);
  }
}

/** The JSON body of a request, or a ControlRequestError saying what is wrong with it and where. */
function parseBody(bytes: Buffer): unknown {
  if (bytes.length === 0) return null;
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (err) {
    throw new ControlRequestError(
      400,
      'E_LAB_CONTROL_JSON',
      `request body is not JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

function parseProbeRequest(body: unknown): ProbeRequest {
  const parsed = probeRequestSchema.safeParse(body);
  if (parsed.success) return parsed.data as ProbeRequest;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'body';
  throw new ControlRequestError(
    400,
    'E_LAB_CONTROL_REQUEST',
    `not a probe request: ${where}: ${issue?.message ?? 'invalid'}`,
  );
}

/** Serves the lab's control endpoint on an ephemeral 127.0.0.1 port until close(). */
export async function startLabControl(
  lab: Lab,
  options: { readonly onDown?: () => void } = {},
): Promise<LabControl> {
  const token = randomBytes(18).toString('base64url');
  const probe = oneProbeAtATime(lab);
  // Whatever a caller sends, the answer is an HTTP status: nothing here may throw out of a
  // callback, since an uncaught exception would end `sockslab up` and orphan its lab.
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      if (res.headersSent) return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: 'bad token' });
    readBoundedBody(
      req,
      res,
      (bytes) => route(lab, req, parseBody(bytes), send, probe, options.onDown),
      (err) => refuse(send, err),
    );
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

type Send = (status: number, body: unknown) => void;

/** A refused request's answer: its own status and code, or 500 for anything unforeseen. */
function refuse(send: Send, err: unknown): void {
  if (err instanceof ControlRequestError) send(err.status, { error: err.message, code: err.code });
  else send(500, { error: err instanceof Error ? err.message : String(err), code: 'E_LAB_CONTROL' });
}

/**
 * Reads a request's body, at most MaxBodyBytes of it, then hands it on (or what went wrong to `fail`). Past the limit the rest
 * is read and dropped (memory stays bounded) and the answer waits for its end, so the caller
 * reads a 413 rather than a reset connection.
 */
function readBoundedBody(
  req: IncomingMessage,
  res: ServerResponse,
  use: (bytes: Buffer) => void,
  fail: (err: unknown) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('error', () => res.destroy());
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= MaxBodyBytes) chunks.push(c);
  });
  req.on('end', () => {
    try {
      if (size > MaxBodyBytes)
        throw new ControlRequestError(413, 'E_LAB_CONTROL_SIZE', `request body over ${MaxBodyBytes} bytes`);
      use(Buffer.concat(chunks));
    } catch (err) {
      fail(err);
    }
  });
}

/** One probe at a time, so the events of concurrent probes do not mix. */
function oneProbeAtATime(lab: Lab): (request: ProbeRequest) => Promise<ControlProbeResult> {
  const inTurn = oneAtATime();
  return (request) => inTurn(async () => (await probeAndSettle(lab, request)) satisfies ControlProbeResult);
}

/** The endpoints: GET /lab, POST /probe, POST /down; anything else is a 404. */
function route(
  lab: Lab,
  req: IncomingMessage,
  body: unknown,
  send: Send,
  probe: (request: ProbeRequest) => Promise<ControlProbeResult>,
  onDown: (() => void) | undefined,
): void {
  if (req.method === 'GET' && req.url === '/lab') {
    send(200, { name: lab.topology.name, runId: lab.runId, runtime: lab.runtime });
    return;
  }
  if (req.method === 'POST' && req.url === '/probe') {
    probe(parseProbeRequest(body)).then(
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
    onDown?.();
    return;
  }
  send(404, { error: `no such endpoint ${req.method} ${req.url}` });
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
