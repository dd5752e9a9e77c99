import type { DockerEngine } from './engine.ts';

/**
 * One host container, made with the engine's API directly: create (first network and its fixed
 * address in the create call; API 1.41 takes one endpoint there), connect the other networks
 * (and copy a large spec file in), start. Not testcontainers' GenericContainer: its start() always
 * talks to the process-wide discovered engine (a lab on another engine would be split across
 * two), and it adds an image-pull check, an inspect loop and a wait strategy per host that the
 * lab does not need (it waits for the agent's own `ready` line).
 */
export interface StaticAttachment {
  readonly network: string;
  readonly address: string;
  readonly aliases: readonly string[];
}

export interface HostContainerSpec {
  readonly image: string;
  readonly name: string;
  readonly hostname: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Empty: the container gets no network at all (never Docker's default bridge). */
  readonly attachments: readonly StaticAttachment[];
  readonly sysctls: Readonly<Record<string, string>>;
  /** Resolver options: a name nobody answers for fails in about a second, not ten. */
  readonly dnsOptions: readonly string[];
  /** Environment of the container's first process (the host spec, when it is small enough). */
  readonly env?: Readonly<Record<string, string>>;
  /** A file written into the container before it starts (the host spec, when it is not). */
  readonly file?: { readonly path: string; readonly content: string; readonly mode: number };
}

const block = 512;

/** A tar archive holding one regular file (ustar), what the archive endpoint takes. */
export function tarOneFile(path: string, content: Buffer, mode: number): Buffer {
  const name = path.replace(/^\/+/, '');
  const header = Buffer.alloc(block);
  const field = (offset: number, length: number, text: string) => {
    if (Buffer.byteLength(text) > length) throw new Error(`tar field too long: ${text}`);
    header.write(text, offset, length, 'utf8');
  };
  const octal = (offset: number, length: number, n: number) =>
    field(offset, length, `${n.toString(8).padStart(length - 1, '0')}\0`);
  const slash = name.lastIndexOf('/', 154);
  if (Buffer.byteLength(name) > 100) {
    field(0, 100, name.slice(slash + 1));
    field(345, 155, name.slice(0, slash));
  } else field(0, 100, name);
  octal(100, 8, mode & 0o7777);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, content.length);
  octal(136, 12, Math.floor(Date.now() / 1000));
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const padding = (block - (content.length % block)) % block;
  return Buffer.concat([header, content, Buffer.alloc(padding), Buffer.alloc(2 * block)]);
}

/** Creates and starts the container; returns its id. A failure leaves the container to the sweep by label. */
export async function startHostContainer(engine: DockerEngine, spec: HostContainerSpec): Promise<string> {
  const d = engine.dockerode;
  const [first, ...others] = spec.attachments;
  const container = await d.createContainer({
    name: spec.name,
    Image: spec.image,
    Hostname: spec.hostname,
    Labels: { ...spec.labels },
    ...(spec.env ? { Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`) } : {}),
    HostConfig: {
      NetworkMode: first ? first.network : 'none',
      Sysctls: { ...spec.sysctls },
      DnsOptions: [...spec.dnsOptions],
    },
    ...(first
      ? {
          NetworkingConfig: {
            EndpointsConfig: {
              [first.network]: { IPAMConfig: { IPv4Address: first.address }, Aliases: [...first.aliases] },
            },
          },
        }
      : {}),
  });
  // Independent of each other: one round trip's wait instead of several.
  await Promise.all([
    ...(spec.file
      ? [
          container.putArchive(tarOneFile(spec.file.path, Buffer.from(spec.file.content), spec.file.mode), {
            path: '/',
          }),
        ]
      : []),
    ...others.map((a) =>
      d.getNetwork(a.network).connect({
        Container: container.id,
        EndpointConfig: { IPAMConfig: { IPv4Address: a.address }, Aliases: [...a.aliases] },
      }),
    ),
  ]);
  await container.start();
  return container.id;
}
