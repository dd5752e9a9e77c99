/**
 * Parsed form of the three CSTC configuration languages (spec sections c, d, e).
 * Every node keeps where it came from, so decisions, errors, reports and diagrams can cite
 * `file:line` (and `column` for fields). IPv4 addresses and masks are unsigned 32-bit numbers.
 */

export interface SourcePos {
  readonly file: string;
  /** 1-based physical line number. */
  readonly line: number;
  /** 1-based column of the field's first character. */
  readonly column: number;
}

/** An address field of c.5: numeric (inet_aton), `ALL`, a host name, or a zone (`.xyz.com`). */
export type HostPattern =
  | { readonly kind: 'ip'; readonly addr: number }
  | { readonly kind: 'all' }
  /** exact host name, lower-cased for case-insensitive comparison */
  | { readonly kind: 'name'; readonly name: string }
  /** zone without its leading dot, lower-cased: matches the apex and every name below it */
  | { readonly kind: 'zone'; readonly zone: string };

export interface AddrSpec {
  readonly pattern: HostPattern;
  /** Parsed mask; 0 when omitted (mask-omission relaxation) or defaulted. Ignored for non-ip patterns. */
  readonly mask: number;
  /** The address field exactly as written ('' when the destination was defaulted). */
  readonly text: string;
  /** true when the mask field was absent (relaxation) or the whole destination was defaulted. */
  readonly maskOmitted: boolean;
  readonly pos: SourcePos;
}

export const PortOps = ['eq', 'neq', 'lt', 'gt', 'le', 'ge'] as const;
export type PortOp = (typeof PortOps)[number];

export interface PortTest {
  readonly op: PortOp;
  /** Service names are resolved at parse time (c.7). */
  readonly port: number;
  /** The port field exactly as written (`telnet`, `80abc`). */
  readonly text: string;
  readonly pos: SourcePos;
}

export type UserListElement =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'file'; readonly path: string };

export interface UserList {
  /** The field as written, including `*=`. */
  readonly text: string;
  readonly elements: readonly UserListElement[];
  readonly pos: SourcePos;
}

export type IdentdMode = 'off' | 'lenient' | 'strict';

export interface IdentdField {
  readonly mode: IdentdMode;
  /** As written: `?=I`, `?=i`, `?=n`, `?=`. */
  readonly text: string;
  readonly pos: SourcePos;
}

interface RuleBase {
  readonly file: string;
  readonly line: number;
  /** The physical line as written (without line terminator). */
  readonly source: string;
  readonly users?: UserList;
  readonly dst: AddrSpec;
  /** true when the destination pair was absent (printed as 0.0.0.0 0.0.0.0). */
  readonly dstDefaulted: boolean;
  readonly port?: PortTest;
  /** Everything after the first `:` verbatim (may start with a blank), unexpanded. */
  readonly command?: string;
}

/** One `permit`/`deny` line of sockd.conf. */
export interface ServerRule extends RuleBase {
  readonly action: 'permit' | 'deny';
  readonly identd?: IdentdField;
  readonly src: AddrSpec;
}

export interface SpecialCommand {
  readonly line: number;
  /** Text after `#NO_IDENTD:` / `#BAD_ID:` verbatim. */
  readonly command: string;
}

export interface ServerConfig {
  readonly kind: 'sockd.conf';
  readonly file: string;
  readonly rules: readonly ServerRule[];
  readonly noIdentd?: SpecialCommand;
  readonly badId?: SpecialCommand;
}

export interface ServerListField {
  /** As written (`@=a,b` or, for the one-field form, `sockd@a,b`). */
  readonly text: string;
  /** Entries in order; empty means "the default server" (d.6). */
  readonly entries: readonly string[];
  /** true for the one-field `sockd@list` form. */
  readonly atForm: boolean;
  readonly pos: SourcePos;
}

/** One `deny`/`direct`/`sockd` line of socks.conf. */
export interface ClientRule extends RuleBase {
  readonly action: 'deny' | 'direct' | 'sockd';
  /** Only for `sockd`; absent = default server. */
  readonly servers?: ServerListField;
}

export interface ClientConfig {
  readonly kind: 'socks.conf';
  readonly file: string;
  readonly rules: readonly ClientRule[];
}

/** One `if_addr dst_addr dst_mask` line of sockd.route. */
export interface RouteRule {
  readonly file: string;
  readonly line: number;
  readonly source: string;
  readonly iface: number;
  readonly ifaceText: string;
  readonly dst: AddrSpec;
}

export interface RouteConfig {
  readonly kind: 'sockd.route';
  readonly file: string;
  readonly routes: readonly RouteRule[];
}

export type AnyConfig = ServerConfig | ClientConfig | RouteConfig;
