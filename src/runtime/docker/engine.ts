import { type ContainerRuntimeClient, getContainerRuntimeClient } from 'testcontainers';
import { RuntimeUnavailableError } from '../../common/errors.ts';
import type { ProbeResult } from '../runtime.ts';

/**
 * The Docker engine as this runtime sees it: testcontainers finds the socket (DOCKER_HOST or
 * /var/run/docker.sock); we keep its client and the raw dockerode for what testcontainers does not
 * cover (subnets, internal networks, fixed addresses, exec as a uid, label sweeps).
 */
export interface DockerEngine {
  readonly client: ContainerRuntimeClient;
  readonly dockerode: ContainerRuntimeClient['container']['dockerode'];
}

const connectTimeoutMs = 5_000;
let cached: Promise<DockerEngine> | undefined;

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

async function connect(): Promise<DockerEngine> {
  const client = await withTimeout(getContainerRuntimeClient(), connectTimeoutMs, 'the Docker engine');
  const dockerode = client.container.dockerode;
  await withTimeout(dockerode.ping(), connectTimeoutMs, 'the Docker engine');
  return { client, dockerode };
}

function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  if (/Could not find a working container runtime strategy/.test(text)) {
    return 'no Docker engine found (no DOCKER_HOST and /var/run/docker.sock does not answer); install docker.io and start dockerd';
  }
  return `the Docker engine is unreachable: ${text}`;
}

export type EngineConnector = () => Promise<DockerEngine>;

/** The default engine, connected once per process. */
export const defaultConnector: EngineConnector = () => {
  cached ??= connect();
  cached.catch(() => {
    cached = undefined;
  });
  return cached;
};

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
      return { ok: false, reason: `Docker engine API ${version.ApiVersion} is older than 1.41` };
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: err instanceof RuntimeUnavailableError ? err.reason : describe(err) };
  }
}
