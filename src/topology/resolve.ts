import path from 'node:path';
import { assignAddresses, resolveNetworks } from './addresses.ts';
import { type ConfigParsers, configParsers } from './config-parsers.ts';
import { loadConfig, loadText } from './config-texts.ts';
import { TopologyErrorCode as Codes, suggest, type TopologyIssue, type YamlPath } from './errors.ts';
import { type MergedHost, mergeHostDefaults } from './host-defaults.ts';
import { type LinkFault, LinkFaultError, resolveLinkFault } from './link-faults.ts';
import type {
  EchoService,
  HostModel,
  IdentdBehaviour,
  ParsedHostConfigs,
  ResolvedTopology,
  Role,
  ServerModel,
  UserModel,
} from './model.ts';
import { topologyConfigs } from './model.ts';
import { checkReferences } from './references.ts';
import { addIssue, hostFieldPath, type InvalidConfigs, type ResolveContext } from './resolve-context.ts';
import { checkZoneConflicts, type InterfacesByHost, resolveOwnNames, resolveZones } from './resolve-names.ts';
import type { RawEchoService, RawIdentd, RawServer, RawTextSource, RawTopology } from './schema.ts';
import type { YamlSource } from './yaml-source.ts';

/** Defined with the model (a host's `hostConfigs` view); re-exported for callers that import it from here. */
export type { ParsedHostConfigs };

export const IdentdPort = 113;
export const SocksPort = 1080;
const implicitUsers: readonly UserModel[] = [
  { name: 'root', uid: 0 },
  { name: 'nobody', uid: 65534 },
];

/**
 * Raw (schema-valid) topology → ResolvedTopology, in the order a reader checks a design:
 * networks, then hosts with their defaults merged, their addresses (written ones first, then
 * `auto`), each host's services and configs (texts read, configs parsed once), the names
 * (zones need every host's addresses), the standing faults, and last what the configs say
 * about the rest (upstreams, route interfaces). Collects every problem it finds.
 */
export async function resolveTopology(
  source: YamlSource,
  raw: RawTopology,
  options: {
    readonly absFile: string;
    readonly parsers?: ConfigParsers | undefined;
    readonly invalidConfigs?: InvalidConfigs | undefined;
  },
): Promise<{
  topology: ResolvedTopology;
  configs: ReadonlyMap<string, ParsedHostConfigs>;
  issues: TopologyIssue[];
}> {
  const ctx: ResolveContext = {
    source,
    raw,
    dir: path.dirname(options.absFile),
    parsers: options.parsers ?? configParsers,
    invalidConfigs: options.invalidConfigs ?? 'fail',
    issues: [],
  };
  const { networks, subnets } = resolveNetworks(ctx);
  const merged = mergeHostDefaults(raw);
  const interfaces = assignAddresses(ctx, merged, subnets);
  const hosts: HostModel[] = [];
  for (const h of merged) hosts.push(await resolveHost(ctx, h, interfaces));
  // Zones: resolved once every host has its addresses (an entry may name a host).
  const zoned = resolveZones(ctx, networks, interfaces);
  checkZoneConflicts(ctx, zoned, hosts);
  const topology: ResolvedTopology = {
    name: raw.name ?? path.basename(options.absFile).replace(/\.ya?ml$/, ''),
    file: options.absFile,
    ...(raw.description !== undefined ? { description: raw.description } : {}),
    networks: zoned,
    hosts,
    ...standingFaults(ctx, hosts),
  };
  const configs = topologyConfigs(topology);
  checkReferences(ctx, topology);
  return { topology, configs, issues: ctx.issues };
}

/** One host: its users, identd, server, echo services (each on a port of its own), probe socks.conf and names. */
async function resolveHost(
  ctx: ResolveContext,
  h: MergedHost,
  interfaces: InterfacesByHost,
): Promise<HostModel> {
  const f = h.fields;
  const users: UserModel[] = Object.entries(f.users ?? {}).map(([name, uid]) => ({ name, uid }));
  for (const u of implicitUsers) if (!users.some((x) => x.name === u.name)) users.push(u);
  const identd = resolveIdentd(f.identd, h.role);
  const server = await hostServer(ctx, h, users);
  const echo = hostEcho(ctx, h);
  claimPorts(ctx, h, server, identd, echo);
  const clientSocksConf =
    f['socks.conf'] === undefined
      ? undefined
      : await loadConfig(
          ctx,
          'socks.conf',
          f['socks.conf'],
          hostFieldPath(ctx, h.name, h.role, 'socks.conf'),
        );
  const ownNames = resolveOwnNames(ctx, f.hosts, h.name, interfaces, (name) =>
    hostFieldPath(ctx, h.name, h.role, 'hosts', name),
  );
  return {
    name: h.name,
    role: h.role,
    ...(f.description !== undefined ? { description: f.description } : {}),
    interfaces: interfaces.get(h.name) ?? [],
    users,
    ...(server ? { server } : {}),
    ...(identd ? { identd } : {}),
    ...(echo.length > 0 ? { echo } : {}),
    ...(clientSocksConf ? { clientSocksConf } : {}),
    ...(f.stopped ? { stopped: true } : {}),
    ...(ownNames.length > 0 ? { names: ownNames } : {}),
  };
}

/** The host's server: the rsockd and sockd roles need a `server` section, and no other role may have one. */
async function hostServer(
  ctx: ResolveContext,
  h: MergedHost,
  users: readonly UserModel[],
): Promise<ServerModel | undefined> {
  const raw = h.fields.server;
  const isServerRole = h.role === 'rsockd' || h.role === 'sockd';
  if (isServerRole && !raw) {
    addIssue(
      ctx,
      Codes.Role,
      ['hosts', h.name],
      `host ${h.name} has role ${h.role} but no \`server\` section`,
    );
    return undefined;
  }
  if (!isServerRole && raw) {
    addIssue(
      ctx,
      Codes.Role,
      hostFieldPath(ctx, h.name, h.role, 'server'),
      `host ${h.name} has role ${h.role}, which runs no server; use role rsockd or sockd, or remove \`server\``,
    );
    return undefined;
  }
  if (!raw) return undefined;
  const p = hostFieldPath(ctx, h.name, h.role, 'server');
  return resolveServer(ctx, h.name, h.role as 'rsockd' | 'sockd', raw, p, users);
}

/** The host's echo services; an echo host without any is an issue. */
function hostEcho(ctx: ResolveContext, h: MergedHost): EchoService[] {
  const echo = (h.fields.echo ?? []).map(resolveEcho);
  if (h.role === 'echo' && echo.length === 0) {
    addIssue(
      ctx,
      Codes.Role,
      ['hosts', h.name],
      `host ${h.name} has role echo but no \`echo\` services; add e.g. \`echo: [7]\``,
    );
  }
  return echo;
}

/** Each port of a host serves one thing: the server, identd, or one echo service. */
function claimPorts(
  ctx: ResolveContext,
  h: MergedHost,
  server: ServerModel | undefined,
  identd: HostModel['identd'],
  echo: readonly EchoService[],
): void {
  const ports = new Map<number, string>();
  const claim = (port: number, what: string, p: YamlPath) => {
    const prev = ports.get(port);
    if (prev)
      addIssue(ctx, Codes.Duplicate, p, `port ${port} is used twice on ${h.name}: ${prev} and ${what}`);
    else ports.set(port, what);
  };
  if (server) claim(server.port, 'the server', hostFieldPath(ctx, h.name, h.role, 'server'));
  if (identd) claim(identd.port, 'identd', hostFieldPath(ctx, h.name, h.role, 'identd'));
  echo.forEach((e, i) => {
    claim(e.port, `${e.kind} service`, hostFieldPath(ctx, h.name, h.role, 'echo', i));
  });
}

/** The topology's standing `faults:`, resolved against its hosts (errors located at the key at fault). */
function standingFaults(ctx: ResolveContext, hosts: readonly HostModel[]): { faults?: readonly LinkFault[] } {
  const raw = ctx.raw.faults;
  if (!raw || raw.length === 0) return {};
  const out: LinkFault[] = [];
  for (const [i, f] of raw.entries()) {
    try {
      out.push(resolveLinkFault(f, hosts));
    } catch (err) {
      if (!(err instanceof LinkFaultError)) throw err;
      addIssue(ctx, Codes.Reference, ['faults', i, ...err.path], err.message);
    }
  }
  return { faults: out };
}

function resolveIdentd(raw: RawIdentd | undefined, role: Role): HostModel['identd'] {
  const spec = raw === undefined ? role === 'identd-only' : raw;
  if (spec === false) return undefined;
  const text = spec === true ? 'truthful' : typeof spec === 'string' ? spec : (spec.behaviour ?? 'truthful');
  if (text === 'none') return undefined;
  const port = typeof spec === 'object' ? (spec.port ?? IdentdPort) : IdentdPort;
  const description = typeof spec === 'object' ? spec.description : undefined;
  return {
    behaviour: parseIdentdBehaviour(text),
    port,
    ...(description !== undefined ? { description } : {}),
  };
}

/** `lying:bob` → { kind: 'lying', user: 'bob' } (the schema has checked the form). */
export function parseIdentdBehaviour(text: string): IdentdBehaviour {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const arg = colon < 0 ? '' : text.slice(colon + 1);
  switch (kind) {
    case 'lying':
      return { kind: 'lying', user: arg };
    case 'error':
      return { kind: 'error', error: arg as 'NO-USER' | 'HIDDEN-USER' | 'UNKNOWN-ERROR' };
    case 'down':
    case 'silent':
    case 'garbage':
      return { kind };
    default:
      return { kind: 'truthful' };
  }
}

function resolveEcho(raw: RawEchoService): EchoService {
  if (typeof raw === 'number') return { port: raw, kind: 'echo' };
  return {
    port: raw.port,
    kind: raw.kind ?? 'echo',
    ...(raw.banner !== undefined ? { banner: raw.banner } : {}),
    ...(raw.description !== undefined ? { description: raw.description } : {}),
  };
}

/**
 * A host's `server` section: its owner (a user of the host), flags, and its files — sockd.conf
 * (required), socks.conf (rsockd only), sockd.route, passwd and user files — read and parsed.
 */
async function resolveServer(
  ctx: ResolveContext,
  host: string,
  role: 'rsockd' | 'sockd',
  raw: RawServer,
  p: YamlPath,
  users: readonly UserModel[],
): Promise<ServerModel | undefined> {
  const owner = serverOwner(ctx, host, raw, p, users);
  const flags = raw.flags ?? [];
  const { identdDefault, multihomed } = serverFlags(flags);
  const sockdConfSource = raw['sockd.conf'];
  if (sockdConfSource === undefined) {
    addIssue(ctx, Codes.Role, p, `the ${role} on ${host} needs a \`sockd.conf\``);
    return undefined;
  }
  if (role === 'sockd' && raw['socks.conf'] !== undefined) {
    addIssue(
      ctx,
      Codes.Role,
      [...p, 'socks.conf'],
      `a sockd always connects directly and reads no socks.conf; make ${host} an rsockd to route`,
      ctx.source.keyPosition(p, 'socks.conf'),
    );
  }
  return {
    kind: role,
    owner,
    port: raw.port ?? SocksPort,
    identdDefault,
    socks5: flags.includes('--socks5'),
    ...(multihomed !== undefined ? { multihomed } : {}),
    ...(await serverFiles(ctx, role, raw, sockdConfSource, p)),
    ...(raw['default-server'] !== undefined ? { defaultServer: raw['default-server'] } : {}),
    upstreamPort: raw['upstream-port'] ?? SocksPort,
    identdPort: raw['identd-port'] ?? IdentdPort,
    ...(raw.description !== undefined ? { description: raw.description } : {}),
  };
}

/** The user the server runs as (default root); one the host does not have is an issue. */
function serverOwner(
  ctx: ResolveContext,
  host: string,
  raw: RawServer,
  p: YamlPath,
  users: readonly UserModel[],
): string {
  const owner = raw.user ?? 'root';
  if (!users.some((u) => u.name === owner)) {
    const names = users.map((u) => u.name);
    const hint = suggest(owner, names);
    addIssue(
      ctx,
      Codes.Reference,
      [...p, 'user'],
      `server user \`${owner}\` is not a user of ${host}${hint ? `; did you mean \`${hint}\`?` : ''} users: ${names.join(', ')}`,
    );
  }
  return owner;
}

/** `-i` / `-I` set the identd default, `--multihomed` / `--single-homed` the interface choice; the last one wins. */
function serverFlags(flags: readonly string[]): {
  identdDefault: ServerModel['identdDefault'];
  multihomed: boolean | undefined;
} {
  let identdDefault: ServerModel['identdDefault'] = 'off';
  let multihomed: boolean | undefined;
  for (const flag of flags) {
    if (flag === '-i') identdDefault = 'lenient';
    else if (flag === '-I') identdDefault = 'strict';
    else if (flag === '--multihomed') multihomed = true;
    else if (flag === '--single-homed') multihomed = false;
  }
  return { identdDefault, multihomed };
}

/** The server's files, read and (the configs) parsed: a sockd reads no socks.conf. */
async function serverFiles(
  ctx: ResolveContext,
  role: 'rsockd' | 'sockd',
  raw: RawServer,
  sockdConfSource: RawTextSource,
  p: YamlPath,
): Promise<Pick<ServerModel, 'sockdConf' | 'socksConf' | 'sockdRoute' | 'passwd' | 'userFiles'>> {
  const sockdConf = await loadConfig(ctx, 'sockd.conf', sockdConfSource, [...p, 'sockd.conf']);
  const socksConfSource = raw['socks.conf'];
  const socksConf =
    socksConfSource !== undefined && role === 'rsockd'
      ? await loadConfig(ctx, 'socks.conf', socksConfSource, [...p, 'socks.conf'])
      : undefined;
  const routeSource = raw['sockd.route'];
  const sockdRoute =
    routeSource !== undefined
      ? await loadConfig(ctx, 'sockd.route', routeSource, [...p, 'sockd.route'])
      : undefined;
  const passwd =
    raw.passwd !== undefined ? await loadText(ctx, raw.passwd, [...p, 'passwd'], 'passwd') : undefined;
  const userFiles: { path: string; text: string }[] = [];
  for (const [filePath, src] of Object.entries(raw['user-files'] ?? {})) {
    const t = await loadText(ctx, src, [...p, 'user-files', filePath], path.posix.basename(filePath));
    userFiles.push({ path: filePath, text: t.text });
  }
  return {
    sockdConf,
    ...(socksConf ? { socksConf } : {}),
    ...(sockdRoute ? { sockdRoute } : {}),
    ...(passwd ? { passwd } : {}),
    userFiles,
  };
}
