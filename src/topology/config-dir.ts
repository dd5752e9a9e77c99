import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { InputError } from '../common/errors.ts';
import type { AnyConfig, ClientConfig, RouteConfig, ServerConfig } from '../config/ast.ts';
import { configParsers } from './config-parsers.ts';
import type { HostModel, ParsedConfigText, ResolvedTopology, ServerModel } from './model.ts';
import type { ParsedHostConfigs } from './resolve.ts';

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

type ConfigName = 'sockd.conf' | 'socks.conf' | 'sockd.route';
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

/** The topology and configs with every file of `dir` laid over them. */
export async function applyConfigDir(
  topology: ResolvedTopology,
  configs: ReadonlyMap<string, ParsedHostConfigs>,
  dir: string,
): Promise<{ topology: ResolvedTopology; configs: ReadonlyMap<string, ParsedHostConfigs> }> {
  const fail = (code: string, message: string): never => {
    throw new ConfigDirError(code, message);
  };
  try {
    if (!(await lstat(dir)).isDirectory()) fail('E_CONFIG_DIR', `${dir}: not a directory`);
  } catch (err) {
    if (err instanceof ConfigDirError) throw err;
    fail('E_CONFIG_DIR', `${dir}: cannot read the directory: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const hostNames = topology.hosts.map((h) => h.name);
  const next = new Map(configs);
  const hosts: HostModel[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (!e.isDirectory() || !hostNames.includes(e.name))
      fail(
        'E_CONFIG_DIR_HOST',
        `${join(dir, e.name)}: expected a directory named after a host of topology ${topology.name} (${hostNames.join(', ')})`,
      );
  }
  for (const host of topology.hosts) {
    const hostDir = join(dir, host.name);
    if (!entries.some((e) => e.name === host.name)) {
      hosts.push(host);
      continue;
    }
    let parsed: ParsedHostConfigs = { ...(configs.get(host.name) ?? {}) };
    let server: ServerModel | undefined = host.server;
    let clientSocksConf = host.clientSocksConf;
    const userFiles = new Map((host.server?.userFiles ?? []).map((u) => [u.path, u.text]));
    for (const rel of await filesBelow(hostDir)) {
      const file = join(hostDir, rel);
      const text = await readFile(file, 'utf8');
      const name = ConfigNames.find((n) => n === rel);
      if (name === 'socks.conf' && !server) {
        const config = parse(name, text, file) as ClientConfig;
        parsed = { ...parsed, probeClient: config };
        clientSocksConf = textOf(name, text, file, config);
        continue;
      }
      if (!server)
        fail(
          'E_CONFIG_DIR_FILE',
          `${file}: ${host.name} runs no SOCKS server, so only socks.conf (its programs' routing) applies there`,
        );
      const s: ServerModel = server!;
      if (name === 'sockd.conf') {
        const config = parse(name, text, file) as ServerConfig;
        parsed = { ...parsed, server: config };
        server = { ...s, sockdConf: textOf(name, text, file, config) };
      } else if (name === 'socks.conf') {
        if (s.kind !== 'rsockd')
          fail(
            'E_CONFIG_DIR_FILE',
            `${file}: ${host.name} runs sockd, whose routing is fixed (direct); only rsockd reads socks.conf`,
          );
        const config = parse(name, text, file) as ClientConfig;
        parsed = { ...parsed, client: config };
        server = { ...s, socksConf: textOf(name, text, file, config) };
      } else if (name === 'sockd.route') {
        const config = parse(name, text, file) as RouteConfig;
        parsed = { ...parsed, route: config };
        server = { ...s, sockdRoute: textOf(name, text, file, config) };
      } else {
        userFiles.set(`/${rel}`, text);
      }
    }
    if (server)
      server = {
        ...server,
        userFiles: [...userFiles]
          .map(([path, text]) => ({ path, text }))
          .sort((a, b) => a.path.localeCompare(b.path)),
      };
    next.set(host.name, parsed);
    hosts.push({
      ...host,
      ...(server ? { server } : {}),
      ...(clientSocksConf ? { clientSocksConf } : {}),
    });
  }
  return { topology: { ...topology, hosts }, configs: next };
}
