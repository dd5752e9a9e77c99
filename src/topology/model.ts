/**
 * The resolved topology: what a loaded, validated YAML topology means, deep-frozen. Runtimes,
 * the scenario runner, analysis and diagrams all read this and nothing rawer.
 * (Owned by the topology module; extend freely, rename only with every user.)
 */

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

export interface NetworkModel {
  readonly name: string;
  /** CIDR as written: IPv4 (10.2.0.0/24) or IPv6 (2001:db8:2::/64). Interface addresses are canonical text. */
  readonly subnet: string;
  readonly description?: string;
}

export interface InterfaceModel {
  readonly network: string;
  readonly address: string;
}

export interface UserModel {
  readonly name: string;
  readonly uid: number;
}

export type IdentdBehaviour =
  | { readonly kind: 'truthful' }
  | { readonly kind: 'down' }
  | { readonly kind: 'silent' }
  | { readonly kind: 'lying'; readonly user: string }
  | { readonly kind: 'error'; readonly error: 'NO-USER' | 'HIDDEN-USER' | 'UNKNOWN-ERROR' }
  | { readonly kind: 'garbage' };

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
  readonly sockdConf: ConfigText;
  readonly socksConf?: ConfigText;
  readonly sockdRoute?: ConfigText;
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
  readonly clientSocksConf?: ConfigText;
  /** The lab starts this host's services only when asked (startHost): a server that is down. */
  readonly stopped?: boolean;
}

export interface ResolvedTopology {
  readonly name: string;
  /** Absolute path of the YAML file. */
  readonly file: string;
  readonly description?: string;
  readonly networks: readonly NetworkModel[];
  readonly hosts: readonly HostModel[];
}
