import { createRequire } from 'node:module';
import { type ContainerRuntimeClient, getContainerRuntimeClient } from 'testcontainers';
import { RuntimeUnavailableError } from '../../common/errors.ts';
import type { ProbeResult } from '../runtime.ts';
import type { EngineEndpoint } from './endpoint.ts';

/**
 * The Docker engine as this runtime sees it: one dockerode client and the endpoint it talks to.
 * Everything the runtime does — image builds, networks, containers, exec, logs, the sweep by
 * label — goes through `dockerode` of one engine, so a lab lives wholly on the engine it was
 * brought up on, and `endpoint.url` says which (the lab state file records it).
 *
 * Two ways to name the engine: an explicit endpoint (`engineAt`, what the CLI passes from
 * DOCKER_HOST), or testcontainers' discovery (the default: DOCKER_HOST, its properties file, or
 * /var/run/docker.sock), whose client is kept once per process.
 */
export type Dockerode = ContainerRuntimeClient['container']['dockerode'];

export interface DockerEngine {
  readonly dockerode: Dockerode;
  /** The engine's address as a DOCKER_HOST value (unix:///path or tcp://host:port). */
  readonly endpoint: string;
}

const connectTimeoutMs = 5_000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    timer.unref();
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** The endpoint a dockerode client was made for, as a DOCKER_HOST value. */
function endpointOf(d: Dockerode): string {
  const modem = d.modem as { socketPath?: string; host?: string; port?: string | number; protocol?: string };
  if (modem.socketPath) return `unix://${modem.socketPath}`;
  return `tcp://${modem.host ?? 'localhost'}:${modem.port ?? 2375}`;
}

async function discovered(): Promise<DockerEngine> {
  const client = await withTimeout(getContainerRuntimeClient(), connectTimeoutMs, 'the Docker engine');
  const dockerode = client.container.dockerode;
  await withTimeout(dockerode.ping(), connectTimeoutMs, 'the Docker engine');
  return { dockerode, endpoint: endpointOf(dockerode) };
}

/**
 * dockerode's constructor, taken from the copy testcontainers depends on (the project declares
 * testcontainers, not dockerode): the same client code either way.
 */
type DockerodeOptions = {
  socketPath?: string;
  host?: string;
  port?: number;
  protocol?: 'http';
  headers?: Record<string, string>;
};
const DockerodeClass = createRequire(createRequire(import.meta.url).resolve('testcontainers'))(
  'dockerode',
) as new (
  options: DockerodeOptions,
) => Dockerode;

async function explicit(endpoint: EngineEndpoint): Promise<DockerEngine> {
  const dockerode = new DockerodeClass(
    endpoint.kind === 'unix'
      ? { socketPath: endpoint.socketPath }
      : { host: endpoint.host, port: endpoint.port, protocol: 'http' },
  );
  await withTimeout(dockerode.ping(), connectTimeoutMs, `the Docker engine at ${endpoint.url}`);
  return { dockerode, endpoint: endpoint.url };
}

function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  if (/Could not find a working container runtime strategy/.test(text)) {
    return 'no Docker engine found (no DOCKER_HOST and /var/run/docker.sock does not answer); install docker.io and start dockerd';
  }
  return `the Docker engine is unreachable: ${text}`;
}

export type EngineConnector = () => Promise<DockerEngine>;

/** Connects once and keeps the engine; a failed attempt is forgotten so the next call retries. */
function cachedConnector(connect: () => Promise<DockerEngine>): EngineConnector {
  let cached: Promise<DockerEngine> | undefined;
  return () => {
    const p = (cached ??= connect());
    p.catch(() => {
      if (cached === p) cached = undefined;
    });
    return p;
  };
}

/** The default engine (testcontainers' discovery), connected once per process. */
export const defaultConnector: EngineConnector = cachedConnector(discovered);

const byUrl = new Map<string, EngineConnector>();

/** The engine at one endpoint, connected once per process and endpoint. */
export function engineAt(endpoint: EngineEndpoint): EngineConnector {
  let c = byUrl.get(endpoint.url);
  if (!c) {
    c = cachedConnector(() => explicit(endpoint));
    byUrl.set(endpoint.url, c);
  }
  return c;
}

/** The engine; throws RuntimeUnavailableError saying why it cannot be used. */
export async function engine(connector: EngineConnector = defaultConnector): Promise<DockerEngine> {
  try {
    return await connector();
  } catch (err) {
    throw new RuntimeUnavailableError('docker', describe(err));
  }
}

/** Runtime.probe(): a missing or unreachable engine is a reason, never a crash. */
export async function probeEngine(connector: EngineConnector = defaultConnector): Promise<ProbeResult> {
  try {
    const e = await engine(connector);
    const version = (await withTimeout(e.dockerode.version(), connectTimeoutMs, 'the Docker engine')) as {
      ApiVersion?: string;
    };
    const api = Number(version.ApiVersion ?? '0');
    if (!(api >= 1.41))
      return {
        ok: false,
        reason: `Docker engine API ${version.ApiVersion} at ${e.endpoint} is older than 1.41`,
      };
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: err instanceof RuntimeUnavailableError ? err.reason : describe(err) };
  }
}
