import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { dottedOf, isDottedQuadShape, parseDottedQuad } from '../common/inet-address.ts';
import type { ClientConfig, RouteConfig, ServerConfig } from '../config/ast.ts';
import { type ConfigName, type ConfigOfName, configParsers, parseConfigText } from './config-parsers.ts';
import { TopologyErrorCode as Codes, suggest, type TopologyIssue, type YamlPath } from './errors.ts';
import { hostTable } from './host-table.ts';
import { type LinkFault, LinkFaultError, resolveLinkFault } from './link-faults.ts';
import {
  type ConfigText,
  type EchoService,
  type HostModel,
  type IdentdBehaviour,
  type InterfaceModel,
  type NameEntry,
  type NetworkModel,
  type ParsedConfigText,
  type ParsedHostConfigs,
  parsedConfig,
  type ResolvedTopology,
  type Role,
  type ServerModel,
  topologyConfigs,
  type UserModel,
} from './model.ts';
import type {
  RawEchoService,
  RawHostDefaults,
  RawIdentd,
  RawServer,
  RawTextSource,
  RawTopology,
} from './schema.ts';
import { parseSubnet, type Subnet } from './subnet.ts';
import type { YamlSource } from './yaml-source.ts';

/**
 * Raw (schema-valid) topology → ResolvedTopology: defaults merged, addresses assigned and
 * checked, texts read, configs parsed (each text keeps its parse result), references checked.
 * Collects every problem it finds.
 */

/** Config parsers (default: the config module's); injectable so the topology can be tested alone. */
export interface ConfigParsers {
  readonly 'sockd.conf': (text: string, file: string) => ServerConfig;
  readonly 'socks.conf': (text: string, file: string) => ClientConfig;
  readonly 'sockd.route': (text: string, file: string) => RouteConfig;
}

/** Defined with the model (a host's `hostConfigs` view); re-exported for callers that import it from here. */
export type { ParsedHostConfigs };

/**
 * What a config that does not parse does to the load: `fail` (default) makes it a problem of the
 * topology, with its position; `keep` keeps the error in the model and skips the checks that read
 * configs (what `sockslab graph` wants: draw a broken config as a note; `check` validates).
 */
export type InvalidConfigs = 'fail' | 'keep';

export const IdentdPort = 113;
export const SocksPort = 1080;
const implicitUsers: readonly UserModel[] = [
  { name: 'root', uid: 0 },
  { name: 'nobody', uid: 65534 },
];

interface Ctx {
  readonly source: YamlSource;
  readonly raw: RawTopology;
  readonly dir: string;
  readonly parsers: ConfigParsers;
  readonly invalidConfigs: InvalidConfigs;
  readonly issues: TopologyIssue[];
}

type HostKey = keyof RawHostDefaults;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Later layers win; mappings merge key by key (users, server, addresses, user-files). */
function merge(...layers: (Record<string, unknown> | undefined)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer)) {
      const prev = out[k];
      out[k] = isPlainObject(prev) && isPlainObject(v) ? merge(prev, v) : v;
    }
  }
  return out;
}

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
  const ctx: Ctx = {
    source,
    raw,
    dir: path.dirname(options.absFile),
    parsers: options.parsers ?? configParsers,
    invalidConfigs: options.invalidConfigs ?? 'fail',
    issues: [],
  };
  const issue = (code: (typeof Codes)[keyof typeof Codes], p: YamlPath, message: string) =>
    ctx.issues.push(source.issue(code, p, message));

  // Networks.
  const networks: NetworkModel[] = [];
  const cidrs = new Map<string, Subnet>();
  for (const [name, net] of Object.entries(raw.networks)) {
    const cidr = parseSubnet(net.subnet);
    if (typeof cidr === 'string') issue(Codes.Subnet, ['networks', name, 'subnet'], cidr);
    else cidrs.set(name, cidr);
    networks.push({ name, subnet: net.subnet, ...(net.description ? { description: net.description } : {}) });
  }

  /** Where a merged host field was written: the host itself, else its role defaults, else defaults.hosts. */
  const whereOf = (host: string, role: Role, key: HostKey, ...rest: (string | number)[]): YamlPath => {
    const candidates: YamlPath[] = [
      ['hosts', host, key],
      ['defaults', 'roles', role, key],
      ['defaults', 'hosts', key],
    ];
    for (const c of candidates) {
      const full = [...c, ...rest];
      if (source.nodeAt(full).exact) return full;
    }
    for (const c of candidates) if (source.nodeAt(c).exact) return c;
    return ['hosts', host];
  };

  // Merge defaults into each host.
  const merged = Object.entries(raw.hosts).map(([name, host]) => {
    const fields = merge(
      raw.defaults?.hosts as Record<string, unknown> | undefined,
      raw.defaults?.roles?.[host.role] as Record<string, unknown> | undefined,
      host as Record<string, unknown>,
    ) as RawHostDefaults & { role: Role };
    return { name, role: host.role, fields };
  });

  // Addresses: explicit ones first (so `auto` never takes an address someone wrote), then auto.
  const taken = new Map<string, string>();
  const interfaces = new Map<string, InterfaceModel[]>();
  const autos: { host: string; role: Role; network: string; path: YamlPath }[] = [];
  for (const h of merged) {
    const list: InterfaceModel[] = [];
    interfaces.set(h.name, list);
    const addresses = h.fields.addresses;
    const entries: [string, string, YamlPath][] = Array.isArray(addresses)
      ? addresses.map((n, i) => [n, 'auto', [...whereOf(h.name, h.role, 'addresses'), i]])
      : Object.entries(addresses ?? {}).map(([n, a]) => [n, a, whereOf(h.name, h.role, 'addresses', n)]);
    if (entries.length === 0) {
      issue(
        Codes.Reference,
        ['hosts', h.name],
        `host ${h.name} has no addresses; add \`addresses: [<network>]\``,
      );
    }
    const seenNets = new Set<string>();
    for (const [network, address, p] of entries) {
      const cidr = cidrs.get(network);
      if (!(network in raw.networks)) {
        const hint = suggest(network, Object.keys(raw.networks));
        issue(
          Codes.Reference,
          p,
          `unknown network \`${network}\`${hint ? `; did you mean \`${hint}\`?` : ''} known networks: ${Object.keys(raw.networks).join(', ')}`,
        );
        continue;
      }
      if (seenNets.has(network)) {
        issue(Codes.Duplicate, p, `host ${h.name} is on network ${network} twice`);
        continue;
      }
      seenNets.add(network);
      if (!cidr) continue;
      if (address === 'auto') {
        autos.push({ host: h.name, role: h.role, network, path: p });
        continue;
      }
      const canonical = cidr.canonical(address);
      if (canonical === null) {
        const form = cidr.family === 4 ? 'a dotted IPv4 address' : 'an IPv6 address';
        issue(
          Codes.Address,
          p,
          `address \`${address}\` is not ${form} (network ${network} is ${cidr.text}) or \`auto\``,
        );
        continue;
      }
      if (!cidr.contains(canonical)) {
        issue(Codes.Address, p, `address ${address} is outside network ${network} (${cidr.text})`);
        continue;
      }
      if (!cidr.usable(canonical)) {
        const which = cidr.family === 4 ? 'network or broadcast' : 'subnet-router anycast';
        issue(Codes.Address, p, `address ${address} is the ${which} address of ${network}`);
        continue;
      }
      const owner = taken.get(canonical);
      if (owner !== undefined) {
        issue(Codes.Duplicate, p, `address ${address} is already taken by ${owner}`);
        continue;
      }
      taken.set(canonical, `${h.name} (on ${network})`);
      list.push({ network, address: canonical });
    }
  }
  for (const a of autos) {
    const cidr = cidrs.get(a.network);
    if (!cidr) continue;
    let assigned: string | undefined;
    for (const text of cidr.hosts()) {
      if (!taken.has(text)) {
        assigned = text;
        break;
      }
    }
    if (!assigned) {
      issue(Codes.Address, a.path, `network ${a.network} has no free address left for ${a.host}`);
      continue;
    }
    taken.set(assigned, `${a.host} (on ${a.network})`);
    interfaces.get(a.host)?.push({ network: a.network, address: assigned });
  }
  // Keep interfaces in the order the networks are declared, so "the first address" is stable.
  const networkOrder = Object.keys(raw.networks);
  for (const list of interfaces.values()) {
    list.sort((x, y) => networkOrder.indexOf(x.network) - networkOrder.indexOf(y.network));
  }

  const hosts: HostModel[] = [];
  for (const h of merged) {
    const f = h.fields;
    const hostPath = ['hosts', h.name];
    const users: UserModel[] = Object.entries(f.users ?? {}).map(([name, uid]) => ({ name, uid }));
    for (const u of implicitUsers) if (!users.some((x) => x.name === u.name)) users.push(u);

    const identd = resolveIdentd(f.identd, h.role);

    let server: ServerModel | undefined;
    const isServerRole = h.role === 'rsockd' || h.role === 'sockd';
    if (isServerRole && !f.server) {
      issue(Codes.Role, hostPath, `host ${h.name} has role ${h.role} but no \`server\` section`);
    } else if (!isServerRole && f.server) {
      issue(
        Codes.Role,
        whereOf(h.name, h.role, 'server'),
        `host ${h.name} has role ${h.role}, which runs no server; use role rsockd or sockd, or remove \`server\``,
      );
    } else if (f.server) {
      server = await resolveServer(
        ctx,
        h.name,
        h.role as 'rsockd' | 'sockd',
        f.server,
        whereOf(h.name, h.role, 'server'),
        users,
      );
    }
    const echo = (f.echo ?? []).map(resolveEcho);
    if (h.role === 'echo' && echo.length === 0) {
      issue(
        Codes.Role,
        hostPath,
        `host ${h.name} has role echo but no \`echo\` services; add e.g. \`echo: [7]\``,
      );
    }
    const ports = new Map<number, string>();
    const claim = (port: number, what: string, p: YamlPath) => {
      const prev = ports.get(port);
      if (prev) issue(Codes.Duplicate, p, `port ${port} is used twice on ${h.name}: ${prev} and ${what}`);
      else ports.set(port, what);
    };
    if (server) claim(server.port, 'the server', whereOf(h.name, h.role, 'server'));
    if (identd) claim(identd.port, 'identd', whereOf(h.name, h.role, 'identd'));
    echo.forEach((e, i) => {
      claim(e.port, `${e.kind} service`, whereOf(h.name, h.role, 'echo', i));
    });

    let clientSocksConf: ParsedConfigText<ClientConfig> | undefined;
    const clientSource = f['socks.conf'];
    if (clientSource !== undefined) {
      const p = whereOf(h.name, h.role, 'socks.conf');
      clientSocksConf = parseConfig(ctx, 'socks.conf', await loadText(ctx, clientSource, p, 'socks.conf'), p);
    }

    const ownNames = resolveNameEntries(
      f.hosts,
      (target) => hostAddressFrom(interfaces, h.name, target),
      (name) => whereOf(h.name, h.role, 'hosts', name),
      issue,
      Object.keys(raw.hosts),
    );

    hosts.push({
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
    });
  }

  // Zones: resolved once every host has its addresses (an entry may name a host).
  for (const [i, [name, net]] of Object.entries(raw.networks).entries()) {
    if (!net.names) continue;
    const zone = resolveNameEntries(
      net.names,
      (target) => {
        const list = interfaces.get(target) ?? interfaces.get(caseFold(interfaces, target));
        if (!list) return undefined;
        return (list.find((x) => x.network === name) ?? list[0])?.address;
      },
      (entry) => ['networks', name, 'names', entry],
      issue,
      Object.keys(raw.hosts),
    );
    const model = networks[i];
    if (model && zone.length > 0) networks[i] = { ...model, names: zone };
  }
  checkZoneConflicts(networks, hosts, issue);

  const topology: ResolvedTopology = {
    name: raw.name ?? path.basename(options.absFile).replace(/\.ya?ml$/, ''),
    file: options.absFile,
    ...(raw.description !== undefined ? { description: raw.description } : {}),
    networks,
    hosts,
    ...standingFaults(ctx, raw, hosts),
  };
  const configs = topologyConfigs(topology);
  checkReferences(ctx, topology, whereOf);
  return { topology, configs, issues: ctx.issues };
}

/** The topology's standing `faults:`, resolved against its hosts (errors located at the key at fault). */
function standingFaults(
  ctx: Ctx,
  raw: RawTopology,
  hosts: readonly HostModel[],
): { faults?: readonly LinkFault[] } {
  if (!raw.faults || raw.faults.length === 0) return {};
  const out: LinkFault[] = [];
  for (const [i, f] of raw.faults.entries()) {
    try {
      out.push(resolveLinkFault(f, hosts));
    } catch (err) {
      if (!(err instanceof LinkFaultError)) throw err;
      ctx.issues.push(ctx.source.issue(Codes.Reference, ['faults', i, ...err.path], err.message));
    }
  }
  return { faults: out };
}

/** The key of `interfaces` equal to `name` but for case (host names resolve case-insensitively). */
function caseFold(map: ReadonlyMap<string, unknown>, name: string): string {
  const lower = name.toLowerCase();
  for (const k of map.keys()) if (k.toLowerCase() === lower) return k;
  return name;
}

/** The address host `from` reaches host `target` by: one on a network they share, else its first. */
function hostAddressFrom(
  interfaces: ReadonlyMap<string, readonly InterfaceModel[]>,
  from: string,
  target: string,
): string | undefined {
  const list = interfaces.get(target) ?? interfaces.get(caseFold(interfaces, target));
  if (!list) return undefined;
  const mine = interfaces.get(from) ?? [];
  return (list.find((x) => mine.some((m) => m.network === x.network)) ?? list[0])?.address;
}

/**
 * `name: address | host | [..]` entries (a zone or a host's own table) → NameEntry list. An
 * address must be dotted IPv4 (the SOCKS 4 resolver's only family); a host name stands for the
 * address `hostAddress` gives. Every bad entry is an issue at its own YAML position.
 */
function resolveNameEntries(
  raw: Readonly<Record<string, string | readonly string[]>> | undefined,
  hostAddress: (host: string) => string | undefined,
  where: (name: string) => YamlPath,
  issue: (code: (typeof Codes)[keyof typeof Codes], p: YamlPath, message: string) => void,
  hostNames: readonly string[],
): NameEntry[] {
  const out: NameEntry[] = [];
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(raw ?? {})) {
    const p = where(name);
    if (seen.has(name.toLowerCase())) {
      issue(Codes.Duplicate, p, `name ${name} is listed twice (names compare case-insensitively)`);
      continue;
    }
    seen.add(name.toLowerCase());
    const targets = typeof value === 'string' ? [value] : value;
    const addresses: string[] = [];
    targets.forEach((t, i) => {
      const at = typeof value === 'string' ? p : [...p, i];
      if (isDottedQuadShape(t)) {
        const n = parseDottedQuad(t);
        if (n === undefined) {
          issue(Codes.Address, at, `\`${t}\` is not a dotted IPv4 address (each part is 0-255)`);
          return;
        }
        const a = dottedOf(n);
        if (!addresses.includes(a)) addresses.push(a);
        return;
      }
      const a = hostAddress(t);
      if (a === undefined) {
        const hint = suggest(t, hostNames);
        issue(
          Codes.Reference,
          at,
          `name ${name}: \`${t}\` is neither a dotted IPv4 address nor a host of this topology${hint ? `; did you mean \`${hint}\`?` : ''}`,
        );
        return;
      }
      if (!isDottedQuadShape(a)) {
        issue(Codes.Address, at, `name ${name}: host ${t} has no IPv4 address to resolve to (${a})`);
        return;
      }
      if (!addresses.includes(a)) addresses.push(a);
    });
    if (addresses.length > 0) out.push({ name, addresses });
  }
  return out;
}

/**
 * A host on two networks whose zones give one name different addresses has no single answer:
 * an error at the second zone's entry, unless the host's own `hosts:` entries settle the name.
 */
function checkZoneConflicts(
  networks: readonly NetworkModel[],
  hosts: readonly HostModel[],
  issue: (code: (typeof Codes)[keyof typeof Codes], p: YamlPath, message: string) => void,
): void {
  const reported = new Set<string>();
  for (const host of hosts) {
    const own = new Set((host.names ?? []).map((n) => n.name.toLowerCase()));
    const seen = new Map<string, { network: string; addresses: string }>();
    for (const iface of host.interfaces) {
      const net = networks.find((n) => n.name === iface.network);
      for (const e of net?.names ?? []) {
        const key = e.name.toLowerCase();
        if (own.has(key)) continue;
        const addresses = e.addresses.join(',');
        const prev = seen.get(key);
        if (!prev) {
          seen.set(key, { network: iface.network, addresses });
          continue;
        }
        if (prev.addresses === addresses || prev.network === iface.network) continue;
        const id = `${prev.network}|${iface.network}|${key}`;
        if (reported.has(id)) continue;
        reported.add(id);
        issue(
          Codes.Duplicate,
          ['networks', iface.network, 'names', e.name],
          `host ${host.name} is on ${prev.network} and ${iface.network}, whose zones resolve ${e.name} differently (${prev.addresses} and ${addresses}); give ${host.name} its own answer under \`hosts: { ${e.name}: … }\``,
        );
      }
    }
  }
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

export function formatIdentdBehaviour(b: IdentdBehaviour): string {
  if (b.kind === 'lying') return `lying:${b.user}`;
  if (b.kind === 'error') return `error:${b.error}`;
  return b.kind;
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

async function resolveServer(
  ctx: Ctx,
  host: string,
  role: 'rsockd' | 'sockd',
  raw: RawServer,
  p: YamlPath,
  users: readonly UserModel[],
): Promise<ServerModel | undefined> {
  const owner = raw.user ?? 'root';
  if (!users.some((u) => u.name === owner)) {
    const hint = suggest(
      owner,
      users.map((u) => u.name),
    );
    ctx.issues.push(
      ctx.source.issue(
        Codes.Reference,
        [...p, 'user'],
        `server user \`${owner}\` is not a user of ${host}${hint ? `; did you mean \`${hint}\`?` : ''} users: ${users.map((u) => u.name).join(', ')}`,
      ),
    );
  }
  const flags = raw.flags ?? [];
  let identdDefault: ServerModel['identdDefault'] = 'off';
  let multihomed: boolean | undefined;
  for (const flag of flags) {
    if (flag === '-i') identdDefault = 'lenient';
    else if (flag === '-I') identdDefault = 'strict';
    else if (flag === '--multihomed') multihomed = true;
    else if (flag === '--single-homed') multihomed = false;
  }
  if (raw['sockd.conf'] === undefined) {
    ctx.issues.push(ctx.source.issue(Codes.Role, p, `the ${role} on ${host} needs a \`sockd.conf\``));
    return undefined;
  }
  if (role === 'sockd' && raw['socks.conf'] !== undefined) {
    ctx.issues.push(
      ctx.source.issue(
        Codes.Role,
        [...p, 'socks.conf'],
        `a sockd always connects directly and reads no socks.conf; make ${host} an rsockd to route`,
        ctx.source.keyPosition(p, 'socks.conf'),
      ),
    );
  }
  const sockdConf = parseConfig(
    ctx,
    'sockd.conf',
    await loadText(ctx, raw['sockd.conf'], [...p, 'sockd.conf'], 'sockd.conf'),
    [...p, 'sockd.conf'],
  );
  let socksConf: ParsedConfigText<ClientConfig> | undefined;
  if (raw['socks.conf'] !== undefined && role === 'rsockd') {
    socksConf = parseConfig(
      ctx,
      'socks.conf',
      await loadText(ctx, raw['socks.conf'], [...p, 'socks.conf'], 'socks.conf'),
      [...p, 'socks.conf'],
    );
  }
  let sockdRoute: ParsedConfigText<RouteConfig> | undefined;
  if (raw['sockd.route'] !== undefined) {
    sockdRoute = parseConfig(
      ctx,
      'sockd.route',
      await loadText(ctx, raw['sockd.route'], [...p, 'sockd.route'], 'sockd.route'),
      [...p, 'sockd.route'],
    );
  }
  const passwd =
    raw.passwd !== undefined ? await loadText(ctx, raw.passwd, [...p, 'passwd'], 'passwd') : undefined;
  const userFiles: { path: string; text: string }[] = [];
  for (const [filePath, src] of Object.entries(raw['user-files'] ?? {})) {
    const t = await loadText(ctx, src, [...p, 'user-files', filePath], path.posix.basename(filePath));
    userFiles.push({ path: filePath, text: t.text });
  }
  return {
    kind: role,
    owner,
    port: raw.port ?? SocksPort,
    identdDefault,
    socks5: flags.includes('--socks5'),
    ...(multihomed !== undefined ? { multihomed } : {}),
    sockdConf,
    ...(socksConf ? { socksConf } : {}),
    ...(sockdRoute ? { sockdRoute } : {}),
    ...(passwd ? { passwd } : {}),
    userFiles,
    ...(raw['default-server'] !== undefined ? { defaultServer: raw['default-server'] } : {}),
    upstreamPort: raw['upstream-port'] ?? SocksPort,
    identdPort: raw['identd-port'] ?? IdentdPort,
    ...(raw.description !== undefined ? { description: raw.description } : {}),
  };
}

async function loadText(ctx: Ctx, src: RawTextSource, p: YamlPath, name: string): Promise<ConfigText> {
  if (typeof src === 'string') {
    const at = ctx.source.blockStart(p);
    return {
      text: src,
      name,
      origin: { file: ctx.source.file, line: at.line, column: at.column, inline: true },
    };
  }
  const abs = path.resolve(ctx.dir, src.file);
  try {
    const text = await readFile(abs, 'utf8');
    return { text, name, origin: { file: abs, line: 1, column: 1, inline: false } };
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((err as Error).message);
    ctx.issues.push(ctx.source.issue(Codes.File, [...p, 'file'], `cannot read ${src.file} (${abs}): ${why}`));
    return { text: '', name, origin: { file: abs, line: 1, column: 1, inline: false } };
  }
}

/** Where line/column of a config text are, in YAML terms (inline) or in the config file itself. */
export function configPosition(
  text: ConfigText,
  line: number,
  column: number,
): { file: string; line: number; column: number } {
  if (!text.origin.inline) return { file: text.origin.file, line, column };
  return {
    file: text.origin.file,
    line: text.origin.line + line - 1,
    column: text.origin.column + Math.max(column, 1) - 1,
  };
}

/**
 * Parses a config text once, for good: the result travels with the text in the model. A text that
 * does not parse is a problem of the topology, each invalid line placed in the YAML (inline text)
 * or in its own file, unless the load keeps invalid configs (drawing).
 */
function parseConfig<K extends ConfigName>(
  ctx: Ctx,
  kind: K,
  text: ConfigText,
  p: YamlPath,
): ParsedConfigText<ConfigOfName[K]> {
  const parsed = parseConfigText(kind, text, ctx.parsers);
  if (parsed.parsed.ok || ctx.invalidConfigs === 'keep') return parsed;
  for (const e of parsed.parsed.error.errors) {
    // The first line of a ConfigError message is `file:line[:col]: what`; keep the `what`.
    const first = (e.message.split('\n')[0] ?? '').replace(/^[^:]*:\d+(:\d+)?: /, '');
    const where = configPosition(text, e.line, e.column);
    const message = `${kind} line ${e.line}: ${first} (${e.classic})`;
    if (text.origin.inline) {
      ctx.issues.push(ctx.source.issue(Codes.Config, p, message, { line: where.line, column: where.column }));
    } else {
      const src = text.text.split(/\r?\n/)[e.line - 1] ?? '';
      ctx.issues.push({
        code: Codes.Config,
        file: ctx.source.file,
        path: p,
        line: ctx.source.valuePosition(p).line,
        column: ctx.source.valuePosition(p).column,
        message: `${text.origin.file}:${e.line}:${e.column}: ${first} (${e.classic})`,
        excerpt: [src, `${src.slice(0, Math.max(0, e.column - 1)).replace(/[^\t]/g, ' ')}^`],
      });
    }
  }
  return parsed;
}

/** socks.conf server lists and default servers must name hosts that run a server. */
function checkReferences(
  ctx: Ctx,
  topology: ResolvedTopology,
  whereOf: (host: string, role: Role, key: HostKey, ...rest: (string | number)[]) => YamlPath,
): void {
  const table = hostTable(topology);
  const describe = (entry: string): string | null => {
    const host = table.lookup(entry);
    if (!host) return `\`${entry}\` is not a host or address of this topology`;
    if (!host.server)
      return `\`${entry}\` is host ${host.name} (role ${host.role}), which runs no SOCKS server`;
    return null;
  };
  for (const host of topology.hosts) {
    // A load that keeps invalid configs (drawing) checks no config's contents: `check` validates.
    const checkConfigs = ctx.invalidConfigs === 'fail';
    const lists: [ParsedConfigText<ClientConfig> | undefined, YamlPath][] = [
      [host.server?.socksConf, [...whereOf(host.name, host.role, 'server'), 'socks.conf']],
      [host.clientSocksConf, whereOf(host.name, host.role, 'socks.conf')],
    ];
    for (const [text, p] of lists) {
      const config = parsedConfig(text);
      if (!checkConfigs || !config || !text) continue;
      for (const rule of config.rules) {
        for (const entry of rule.servers?.entries ?? []) {
          const problem = describe(entry);
          if (!problem) continue;
          const pos = configPosition(text, rule.line, rule.servers?.pos.column ?? 1);
          const at = text.origin.inline ? { line: pos.line, column: pos.column } : null;
          ctx.issues.push(
            ctx.source.issue(Codes.Upstream, p, `socks.conf line ${rule.line}: upstream ${problem}`, at),
          );
        }
      }
    }
    const def = host.server?.defaultServer;
    if (def !== undefined) {
      const problem = describe(def);
      if (problem) {
        ctx.issues.push(
          ctx.source.issue(
            Codes.Upstream,
            [...whereOf(host.name, host.role, 'server'), 'default-server'],
            `default server ${problem}`,
          ),
        );
      }
    }
    const route = parsedConfig(host.server?.sockdRoute);
    if (checkConfigs && route && host.server?.sockdRoute) {
      const own = new Set(host.interfaces.map((i) => i.address));
      for (const r of route.routes) {
        const iface = dottedOf(r.iface >>> 0);
        if (own.has(iface)) continue;
        const text = host.server.sockdRoute;
        const pos = configPosition(text, r.line, 1);
        ctx.issues.push(
          ctx.source.issue(
            Codes.Config,
            [...whereOf(host.name, host.role, 'server'), 'sockd.route'],
            `sockd.route line ${r.line}: interface address ${iface} is not an address of ${host.name} (${[...own].join(', ')})`,
            text.origin.inline ? { line: pos.line, column: pos.column } : null,
          ),
        );
      }
    }
  }
}
