import type {
  EchoService,
  HostModel,
  IdentdBehaviour,
  ResolvedTopology,
  UserModel,
} from '../topology/model.ts';
import { hostNamesOf, hostsFileText } from '../topology/names.ts';
import type { LabTimeouts } from './runtime.ts';

/**
 * What one container needs to know about its host, as JSON: written to /etc/sockslab/host.json
 * before the container starts and read by the host agent (src/cli/host-agent.ts). Pure: the
 * driver builds it, the agent reads it; neither side imports the other's I/O.
 */

/** Fixed paths inside the image. */
export const ImagePaths = {
  app: '/app',
  node: '/usr/bin/node',
  agent: '/app/dist/cli/host-agent.js',
  rsockd: '/app/dist/cli/rsockd.js',
  sockd: '/app/dist/cli/sockd.js',
  spec: '/etc/sockslab/host.json',
  configDir: '/etc/sockslab',
  hosts: '/etc/sockslab/hosts',
  /** The topology's hosts, interfaces and server ports (world-readable: probes run as users). */
  directory: '/etc/sockslab/directory.json',
  /** This host's own names (its `hosts:` entries and zones; world-readable: probes resolve with them). */
  names: '/etc/sockslab/names.json',
  clientSocksConf: '/etc/sockslab/client/socks.conf',
  control: '/tmp/sockslab-agent.sock',
  pidfile: '/tmp/sockslab-server.pid',
  /** The server's JSON-lines events (`--events`), tailed by the agent. */
  events: '/tmp/sockslab-server-events.jsonl',
} as const;

export interface FileSpec {
  readonly path: string;
  readonly text: string;
  /** Octal permission bits; config files are world-readable so the server's owner can read them. */
  readonly mode: number;
  /** Owner uid (default root): the passwd file belongs to the server's owner. */
  readonly uid?: number;
}

export interface ServerSpec {
  readonly kind: 'rsockd' | 'sockd';
  readonly owner: string;
  readonly uid: number;
  readonly gid: number;
  readonly port: number;
  /** Arguments after the CLI script. */
  readonly argv: readonly string[];
}

export interface HostSpec {
  readonly version: 1;
  readonly runId: string;
  readonly topology: string;
  readonly host: string;
  readonly users: readonly UserModel[];
  readonly files: readonly FileSpec[];
  readonly server?: ServerSpec;
  readonly identd?: {
    readonly port: number;
    readonly behaviour: IdentdBehaviour;
    readonly readTimeoutMs?: number;
  };
  readonly echo: readonly EchoService[];
  /** The host starts with its services stopped (topology `stopped: true`); `start` brings them up. */
  readonly stopped?: boolean;
  /** Every host of the topology with its interfaces: the probe's names for targets and `via`. */
  readonly directory: Directory;
  /** Path of the socks.conf that `probe --use-socks-conf` reads on this host, when it has one. */
  readonly clientSocksConf?: string;
}

export interface DirectoryHost {
  readonly name: string;
  readonly interfaces: readonly { readonly network: string; readonly address: string }[];
  /** The SOCKS port of its server, when it runs one. */
  readonly serverPort?: number;
}

export type Directory = readonly DirectoryHost[];

export function directoryOf(topology: ResolvedTopology): Directory {
  return topology.hosts.map((h) => ({
    name: h.name,
    interfaces: h.interfaces.map((i) => ({ network: i.network, address: i.address })),
    ...(h.server ? { serverPort: h.server.port } : {}),
  }));
}

/**
 * hosts(5)-style table of what `host` resolves (the server's --hosts): its own entries, its
 * networks' zones and the topology's host names, precedence applied (topology/names.ts).
 */
export function hostsTable(topology: ResolvedTopology, host: string): string {
  return hostsFileText(topology.hosts, hostNamesOf(topology, host));
}

function userOf(host: HostModel, name: string): UserModel {
  const user = host.users.find((u) => u.name === name);
  if (!user) throw new Error(`host ${host.name}: server owner ${name} is not in the host's users`);
  return user;
}

const configPath = (name: string) => `${ImagePaths.configDir}/${name}`;

/**
 * The server runs in the config directory and is given bare file names, so its rule citations
 * read `sockd.conf:2` exactly as on the local runtime, not `/etc/sockslab/sockd.conf:2`.
 */
export const ServerCwd = ImagePaths.configDir;

/** b.7 timers the lab may shorten, as the CLI's `--timeout-*` options (seconds, fractions allowed). */
const timerOptions = [
  ['identd', '--timeout-identd'],
  ['upstreamConnect', '--timeout-upstream'],
  ['establish', '--timeout-establish'],
  ['requestRead', '--timeout-request'],
] as const;

/** The server CLI's arguments for a host (spec h.1/h.2 plus the lab's extensions). */
export function serverArgv(host: HostModel, timeouts: LabTimeouts = {}): readonly string[] {
  const s = host.server;
  if (!s) return [];
  const argv = [
    '--standalone',
    '--listen',
    '0.0.0.0',
    '--port',
    String(s.port),
    '--conf',
    'sockd.conf',
    '--identd-port',
    String(s.identdPort),
    '--hosts',
    ImagePaths.hosts,
    '--pidfile',
    ImagePaths.pidfile,
    // Classic text log on stderr (reload errors only appear there), structured events to a file.
    '--log',
    'stderr',
    '--events',
    ImagePaths.events,
  ];
  if (s.kind === 'rsockd') {
    // Always name the paths: a missing file means "everything direct" / "no routes" (d.1, e).
    argv.push('--client-conf', 'socks.conf', '--upstream-port', String(s.upstreamPort));
    if (s.defaultServer !== undefined) argv.push('--default-server', s.defaultServer);
  }
  argv.push('--route', 'sockd.route');
  if (s.multihomed === true) argv.push('--multihomed');
  if (s.multihomed === false) argv.push('--single-homed');
  if (s.socks5) argv.push('--socks5');
  if (s.passwd) argv.push('--passwd', 'passwd');
  for (const [key, option] of timerOptions) {
    const ms = timeouts[key];
    if (ms !== undefined) argv.push(option, String(ms / 1000));
  }
  if (s.identdDefault === 'lenient') argv.push('-i');
  if (s.identdDefault === 'strict') argv.push('-I');
  // The agent starts the server as root; the server binds, reads its files (the passwd file is
  // its owner's, mode 0600) and then becomes its owner itself (--user), as in production. By
  // number: the topology's users need not be in the image's /etc/passwd. Root stays root, said
  // explicitly so the server does not warn about it.
  const owner = userOf(host, s.owner);
  argv.push('--user', `${owner.uid}:${owner.uid}`);
  return argv;
}

export function buildHostSpec(
  topology: ResolvedTopology,
  host: HostModel,
  runId: string,
  timeouts: LabTimeouts = {},
): HostSpec {
  const directory = directoryOf(topology);
  const files: FileSpec[] = [
    { path: ImagePaths.hosts, text: hostsTable(topology, host.name), mode: 0o644 },
    { path: ImagePaths.directory, text: JSON.stringify(directory), mode: 0o644 },
    { path: ImagePaths.names, text: JSON.stringify(hostNamesOf(topology, host.name)), mode: 0o644 },
  ];
  let server: ServerSpec | undefined;
  const s = host.server;
  if (s) {
    files.push({ path: configPath('sockd.conf'), text: s.sockdConf.text, mode: 0o644 });
    if (s.socksConf) files.push({ path: configPath('socks.conf'), text: s.socksConf.text, mode: 0o644 });
    if (s.sockdRoute) files.push({ path: configPath('sockd.route'), text: s.sockdRoute.text, mode: 0o644 });
    const owner = userOf(host, s.owner);
    // Credentials are readable by the server's owner only.
    if (s.passwd) {
      files.push({ path: configPath('passwd'), text: s.passwd.text, mode: 0o600, uid: owner.uid });
    }
    for (const f of s.userFiles) files.push({ path: f.path, text: f.text, mode: 0o644 });
    server = {
      kind: s.kind,
      owner: owner.name,
      uid: owner.uid,
      gid: owner.uid,
      port: s.port,
      argv: serverArgv(host, timeouts),
    };
  }
  if (host.clientSocksConf)
    files.push({ path: ImagePaths.clientSocksConf, text: host.clientSocksConf.text, mode: 0o644 });
  return {
    version: 1,
    runId,
    topology: topology.name,
    host: host.name,
    users: host.users,
    files,
    ...(server ? { server } : {}),
    ...(host.identd
      ? {
          identd: {
            port: host.identd.port,
            behaviour: host.identd.behaviour,
            ...(timeouts.identdRead !== undefined ? { readTimeoutMs: timeouts.identdRead } : {}),
          },
        }
      : {}),
    echo: host.echo ?? [],
    ...(host.stopped === true ? { stopped: true } : {}),
    directory,
    ...(host.clientSocksConf ? { clientSocksConf: ImagePaths.clientSocksConf } : {}),
  };
}
