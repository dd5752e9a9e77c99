import type { LinkFault } from './link-faults.ts';
/**
 * The resolved topology: what a loaded, validated YAML topology means, deep-frozen. Runtimes,
 * the scenario runner, analysis and diagrams all read this and nothing rawer. Its configs are
 * parsed once, here at the boundary: every config text travels with its parse result, so no
 * module above config/ parses config text again.
 * (Owned by the topology module; extend freely, rename only with every user.)
 */

import type { IdentdBehaviour } from '../common/identd-behaviour.ts';
import type { AnyConfig, ClientConfig, RouteConfig, ServerConfig } from '../config/ast.ts';
import type { ConfigFileError } from '../config/config-error.ts';

/**
 * The parsed socks.conf types the model carries (in ParsedConfigText and ParsedHostConfigs), named
 * here so a reader of the model (diagram/) names what it reads without importing config/.
 */
export type { AddrSpec, ClientConfig, ClientRule } from '../config/ast.ts';

export const Roles = ['client', 'rsockd', 'sockd', 'identd-only', 'echo'] as const;
export type Role = (typeof Roles)[number];

/** Where a piece of text came from: a file next to the topology, or inline in the YAML. */
export interface TextOrigin {
  readonly file: string;
  /** For inline text: the YAML line/column where the block's first line starts. */
  readonly line: number;
  readonly column: number;
  readonly inline: boolean;
}

export interface ConfigText {
  readonly text: string;
  /** The name used in decisions and reports (`sockd.conf`, `socks.conf`, `sockd.route`). */
  readonly name: string;
  readonly origin: TextOrigin;
}

/**
 * What the config module made of a text: the parsed config, or the error rejecting the file as
 * a whole (c.12) with every invalid line. A loaded topology holds only `ok` ones unless it was
 * loaded for drawing (`invalidConfigs: 'keep'`); a scenario's replacement text may be invalid.
 */
export type ConfigParse<C extends AnyConfig = AnyConfig> =
  | { readonly ok: true; readonly config: C }
  | { readonly ok: false; readonly error: ConfigFileError };

/** A config text with its parse result: the text and origin for messages and for runtimes that write files. */
export interface ParsedConfigText<C extends AnyConfig = AnyConfig> extends ConfigText {
  readonly parsed: ConfigParse<C>;
}

/** The configs of one host that parsed (what analysis and the local runtime work from). */
export interface ParsedHostConfigs {
  /** The server's sockd.conf. */
  readonly server?: ServerConfig;
  /** An rsockd's own socks.conf (its routing). */
  readonly client?: ClientConfig;
  readonly route?: RouteConfig;
  /** The socks.conf a probe from this host uses (`clientSocksConf`). */
  readonly probeClient?: ClientConfig;
}

/** One name a host resolves, with its addresses in resolver order (dotted IPv4). */
export interface NameEntry {
  readonly name: string;
  readonly addresses: readonly string[];
}

export interface NetworkModel {
  readonly name: string;
  /** CIDR as written: IPv4 (10.2.0.0/24) or IPv6 (2001:db8:2::/64). Interface addresses are canonical text. */
  readonly subnet: string;
  readonly description?: string;
  /** The network's zone: names every host on it resolves (split DNS); absent = none. */
  readonly names?: readonly NameEntry[];
}

export interface InterfaceModel {
  readonly network: string;
  readonly address: string;
}

export interface UserModel {
  readonly name: string;
  readonly uid: number;
}

export type { IdentdBehaviour };

export const EchoKinds = ['echo', 'discard', 'http-ok', 'banner'] as const;
export type EchoKind = (typeof EchoKinds)[number];

export interface EchoService {
  readonly port: number;
  readonly kind: EchoKind;
  /** What a `banner` service sends on accept. */
  readonly banner?: string;
  readonly description?: string;
}

export interface ServerModel {
  readonly kind: 'rsockd' | 'sockd';
  /** User (from the host's users) that owns the server process: what identd reports for its sockets. */
  readonly owner: string;
  readonly port: number;
  readonly identdDefault: 'off' | 'lenient' | 'strict';
  readonly socks5: boolean;
  readonly multihomed?: boolean;
  readonly sockdConf: ParsedConfigText<ServerConfig>;
  /** rsockd only: a sockd reads no socks.conf. */
  readonly socksConf?: ParsedConfigText<ClientConfig>;
  readonly sockdRoute?: ParsedConfigText<RouteConfig>;
  readonly passwd?: ConfigText;
  /** User files referenced by absolute path from the configs (`/etc/sockd/staff.users`). */
  readonly userFiles: readonly { readonly path: string; readonly text: string }[];
  readonly defaultServer?: string;
  /** Port used for every upstream server (rsockd --upstream-port); default 1080. */
  readonly upstreamPort: number;
  /** Port at which this server asks its clients' identd (default 113). */
  readonly identdPort: number;
  readonly description?: string;
}

export interface HostModel {
  readonly name: string;
  readonly role: Role;
  readonly description?: string;
  readonly interfaces: readonly InterfaceModel[];
  readonly users: readonly UserModel[];
  readonly server?: ServerModel;
  /** Present when the host runs an identd. */
  readonly identd?: {
    readonly behaviour: IdentdBehaviour;
    readonly port: number;
    readonly description?: string;
  };
  readonly echo?: readonly EchoService[];
  /** socks.conf used by `probe --use-socks-conf` from this host. */
  readonly clientSocksConf?: ParsedConfigText<ClientConfig>;
  /** The lab starts this host's services only when asked (startHost): a server that is down. */
  readonly stopped?: boolean;
  /** The host's own name entries (topology `hosts:`, its /etc/hosts); they win over zones. */
  readonly names?: readonly NameEntry[];
}

export interface ResolvedTopology {
  readonly name: string;
  /** Absolute path of the YAML file. */
  readonly file: string;
  readonly description?: string;
  readonly networks: readonly NetworkModel[];
  readonly hosts: readonly HostModel[];
  /** Link faults present for the whole run (topology `faults:`), applied by every runtime at start. */
  readonly faults?: readonly LinkFault[];
}

/** The config of a parse result, when it parsed. */
export function parsedConfig<C extends AnyConfig>(text: ParsedConfigText<C> | undefined): C | undefined {
  return text?.parsed.ok ? text.parsed.config : undefined;
}

/** Every host's configs that parsed, by host name (what `loadTopologyWithConfigs` returns as `configs`). */
export function topologyConfigs(
  topology: Pick<ResolvedTopology, 'hosts'>,
): ReadonlyMap<string, ParsedHostConfigs> {
  return new Map(topology.hosts.map((h) => [h.name, hostConfigs(h)]));
}

/** The host's configs that parsed, in the shape analysis and the local runtime use. */
export function hostConfigs(host: HostModel): ParsedHostConfigs {
  const server = parsedConfig(host.server?.sockdConf);
  const client = host.server?.kind === 'rsockd' ? parsedConfig(host.server.socksConf) : undefined;
  const route = parsedConfig(host.server?.sockdRoute);
  const probeClient = parsedConfig(host.clientSocksConf);
  return {
    ...(server ? { server } : {}),
    ...(client ? { client } : {}),
    ...(route ? { route } : {}),
    ...(probeClient ? { probeClient } : {}),
  };
}
