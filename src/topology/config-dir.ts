import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { InputError } from '../common/errors.ts';
import type { AnyConfig, ClientConfig, RouteConfig, ServerConfig } from '../config/ast.ts';
import { type ConfigName, configParsers } from './config-parsers.ts';
import type {
  HostModel,
  ParsedConfigText,
  ParsedHostConfigs,
  ResolvedTopology,
  ServerModel,
} from './model.ts';

/**
 * A directory of real config files laid over one topology (`sockslab diff topology.yaml
 * --before dir1 --after dir2`: the usual review, where only configs change). The layout:
 *
 *     <dir>/<host>/sockd.conf     the server's sockd.conf            (host runs rsockd or sockd)
 *     <dir>/<host>/socks.conf     rsockd's routing socks.conf, or — on a host without a server —
 *                                 the socks.conf its own programs use (the probe's)
 *     <dir>/<host>/sockd.route    the server's sockd.route
 *     <dir>/<host>/<path>         any other file: a user file the configs name as /<path>
 *                                 (e.g. A/etc/sockd/dept.users is A's /etc/sockd/dept.users)
 *
 * A file that is absent keeps the topology's own text; a directory that is no host, a file the
 * host cannot have, or a config that does not parse is an InputError naming the file (and line
 * and column for a config error).
 */

export class ConfigDirError extends InputError {}

const ConfigNames: readonly ConfigName[] = ['sockd.conf', 'socks.conf', 'sockd.route'];

/** Every regular file below `dir`, relative paths with `/`, sorted. */
async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const full = join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) out.push(relative(dir, full).split(sep).join('/'));
    }
  };
  await walk(dir);
  return out;
}

/** Parses `text` as `kind`; the rules cite the file's own name, errors the real file. */
function parse(kind: ConfigName, text: string, file: string): ServerConfig | ClientConfig | RouteConfig {
  try {
    return configParsers[kind](text, kind);
  } catch {
    // Only a text that does not parse is parsed again, under its real path, for located errors.
  }
  try {
    configParsers[kind](text, file);
  } catch (err) {
    const errors = (err as { errors?: readonly { message: string }[] }).errors;
    const detail = errors ? errors.map((e) => e.message).join('\n') : (err as Error).message;
    throw new ConfigDirError(
      'E_CONFIG_DIR_PARSE',
      `${file}: does not parse; the whole file is rejected\n${detail}`,
      {
        cause: err,
      },
    );
  }
  throw new Error(`${file}: parsed under its path but not under its name ${kind}`);
}

/** The file as the model carries it: its text, where it came from, and its parse. */
const textOf = <C extends AnyConfig>(
  name: ConfigName,
  text: string,
  file: string,
  config: C,
): ParsedConfigText<C> => ({
  text,
  name,
  origin: { file, line: 1, column: 1, inline: false },
  parsed: { ok: true, config },
});

function fail(code: string, message: string): never {
  throw new ConfigDirError(code, message);
}

/** The topology and configs with every file of `dir` laid over them. */
export async function applyConfigDir(
  topology: ResolvedTopology,
  configs: ReadonlyMap<string, ParsedHostConfigs>,
  dir: string,
): Promise<{ topology: ResolvedTopology; configs: ReadonlyMap<string, ParsedHostConfigs> }> {
  await checkDirectory(dir);
  const entries = await readdir(dir, { withFileTypes: true });
  const hostNames = topology.hosts.map((h) => h.name);
  for (const e of entries) {
    if (!e.isDirectory() || !hostNames.includes(e.name))
      fail(
        'E_CONFIG_DIR_HOST',
        `${join(dir, e.name)}: expected a directory named after a host of topology ${topology.name} (${hostNames.join(', ')})`,
      );
  }
  const next = new Map(configs);
  const hosts: HostModel[] = [];
  for (const host of topology.hosts) {
    if (!entries.some((e) => e.name === host.name)) {
      hosts.push(host);
      continue;
    }
    const laid = await layHostDir(host, configs.get(host.name) ?? {}, join(dir, host.name));
    next.set(host.name, laid.configs);
    hosts.push(laid.host);
  }
  return { topology: { ...topology, hosts }, configs: next };
}

async function checkDirectory(dir: string): Promise<void> {
  try {
    if (!(await lstat(dir)).isDirectory()) fail('E_CONFIG_DIR', `${dir}: not a directory`);
  } catch (err) {
    if (err instanceof ConfigDirError) throw err;
    fail('E_CONFIG_DIR', `${dir}: cannot read the directory: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/** A host's model and parsed configs while the files of its directory are laid over them, one by one. */
interface HostLayer {
  configs: ParsedHostConfigs;
  server: ServerModel | undefined;
  clientSocksConf: ParsedConfigText<ClientConfig> | undefined;
  /** User files by absolute path (`/etc/sockd/dept.users`). */
  readonly userFiles: Map<string, string>;
}

/** The host with every file below `hostDir` laid over it (its user files sorted by path). */
async function layHostDir(
  host: HostModel,
  configs: ParsedHostConfigs,
  hostDir: string,
): Promise<{ host: HostModel; configs: ParsedHostConfigs }> {
  const layer: HostLayer = {
    configs: { ...configs },
    server: host.server,
    clientSocksConf: host.clientSocksConf,
    userFiles: new Map((host.server?.userFiles ?? []).map((u) => [u.path, u.text])),
  };
  for (const rel of await filesBelow(hostDir)) {
    const file = join(hostDir, rel);
    layFile(layer, host.name, rel, file, await readFile(file, 'utf8'));
  }
  const server = layer.server && {
    ...layer.server,
    userFiles: [...layer.userFiles]
      .map(([path, text]) => ({ path, text }))
      .sort((a, b) => a.path.localeCompare(b.path)),
  };
  const clientSocksConf = layer.clientSocksConf;
  return {
    configs: layer.configs,
    host: { ...host, ...(server ? { server } : {}), ...(clientSocksConf ? { clientSocksConf } : {}) },
  };
}

/**
 * One file laid over the host: a config replaces the model's text and parse (socks.conf is the
 * probe's on a host without a server, rsockd's routing on one with), any other file is a user
 * file at `/<rel>`; a file the host cannot have is a ConfigDirError.
 */
function layFile(layer: HostLayer, host: string, rel: string, file: string, text: string): void {
  const name = ConfigNames.find((n) => n === rel);
  if (name === 'socks.conf' && !layer.server) {
    const config = parse(name, text, file) as ClientConfig;
    layer.configs = { ...layer.configs, probeClient: config };
    layer.clientSocksConf = textOf(name, text, file, config);
    return;
  }
  const s =
    layer.server ??
    fail(
      'E_CONFIG_DIR_FILE',
      `${file}: ${host} runs no SOCKS server, so only socks.conf (its programs' routing) applies there`,
    );
  if (name === 'sockd.conf') {
    const config = parse(name, text, file) as ServerConfig;
    layer.configs = { ...layer.configs, server: config };
    layer.server = { ...s, sockdConf: textOf(name, text, file, config) };
  } else if (name === 'socks.conf') {
    if (s.kind !== 'rsockd')
      fail(
        'E_CONFIG_DIR_FILE',
        `${file}: ${host} runs sockd, whose routing is fixed (direct); only rsockd reads socks.conf`,
      );
    const config = parse(name, text, file) as ClientConfig;
    layer.configs = { ...layer.configs, client: config };
    layer.server = { ...s, socksConf: textOf(name, text, file, config) };
  } else if (name === 'sockd.route') {
    const config = parse(name, text, file) as RouteConfig;
    layer.configs = { ...layer.configs, route: config };
    layer.server = { ...s, sockdRoute: textOf(name, text, file, config) };
  } else {
    layer.userFiles.set(`/${rel}`, text);
  }
}
