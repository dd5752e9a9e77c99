/**
 * Errors in configuration files. Each carries a stable code, where it is (file, line, column),
 * the classic message of the original tools (spec c.12, d.2, e — printed by `make_*`, logged by
 * the server) and a compiler-style `message` with the line and a caret under the bad field.
 */
import { InputError } from '../common/errors.ts';
import type { AnyConfig } from './ast.ts';

export type ConfigKind = AnyConfig['kind'];

/** Stable codes; callers branch on these, never on the text. */
export const ConfigErrorCode = {
  /** structurally wrong line: missing or leftover field, numeric address without mask, ... */
  Entry: 'E_CONF_ENTRY',
  /** first field is not an action keyword of the file */
  Action: 'E_CONF_ACTION',
  /** `?=` followed by anything but I, i, n or nothing */
  Identd: 'E_CONF_IDENTD',
  /** after a destination pair, a field that is not an operator */
  Comparison: 'E_CONF_COMPARISON',
  /** port neither a service name nor leading digits, or ≥ 65536 */
  Port: 'E_CONF_PORT',
  /** source mask not numeric */
  SrcMask: 'E_CONF_SRC_MASK',
  /** destination mask not numeric */
  DstMask: 'E_CONF_DST_MASK',
  /** line longer than the file kind allows */
  TooLong: 'E_CONF_TOO_LONG',
  /** route interface address not numeric or not a local interface */
  Iface: 'E_CONF_IFACE',
  /** a text config file exists but cannot be read */
  Unreadable: 'E_CONF_UNREADABLE',
  /** frozen file truncated, bad checksum, bad version or unreadable payload */
  FrozenCorrupt: 'E_FROZEN_CORRUPT',
  /** frozen file of another kind (server rules vs client rules vs routes) */
  FrozenKind: 'E_FROZEN_KIND',
} as const;
export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];

/** The classic message (without location) each code has in each kind of file. */
function classicPrefix(kind: ConfigKind, code: ConfigErrorCode, line: number): string {
  if (kind === 'sockd.route') return `Invalid entry at line ${line}`;
  switch (code) {
    case 'E_CONF_ACTION':
      return kind === 'sockd.conf'
        ? `Invalid permit/deny field at line ${line}`
        : `Invalid sockd/direct/deny field at line ${line}`;
    case 'E_CONF_IDENTD':
      return `Invalid ?= field at line ${line}`;
    case 'E_CONF_COMPARISON':
      return `Invalid comparison at line ${line}`;
    case 'E_CONF_PORT':
      return `Invalid port number at line ${line}`;
    case 'E_CONF_SRC_MASK':
      return `Illegal source mask at line ${line}`;
    case 'E_CONF_DST_MASK':
      return `Illegal destination mask at line ${line}`;
    case 'E_CONF_TOO_LONG':
      // socks.conf (d.2) has no "too long" message of its own.
      return kind === 'sockd.conf' ? `Line ${line} too long` : `Invalid entry at line ${line}`;
    default:
      return `Invalid entry at line ${line}`;
  }
}

/** `Invalid entry at line 3 in file /etc/sockd.conf` and friends. */
export function classicMessage(kind: ConfigKind, code: ConfigErrorCode, line: number, file: string): string {
  return `${classicPrefix(kind, code, line)} in file ${file}`;
}

export interface ConfigErrorInit {
  readonly code: ConfigErrorCode;
  readonly file: string;
  /** 1-based; 0 when the error concerns the whole file (frozen files). */
  readonly line: number;
  /** 1-based column of the bad field; 0 when not applicable. */
  readonly column: number;
  /** The physical line as written ('' when not applicable). */
  readonly source: string;
  /** Exact text the original tools print for this error. */
  readonly classic: string;
  /** What is wrong, e.g. `unknown action "allow"`. */
  readonly what: string;
  /** What would have been right, e.g. `permit or deny`. */
  readonly expected?: string;
  readonly cause?: unknown;
}

/** Caret line under `column` of `source`, copying tabs so it lines up in any terminal. */
function caretUnder(source: string, column: number): string {
  const prefix = source.slice(0, Math.max(0, column - 1)).replace(/[^\t]/g, ' ');
  return `${prefix}^`;
}

function compilerMessage(init: ConfigErrorInit): string {
  const expected = init.expected === undefined ? '' : `, expected ${init.expected}`;
  if (init.line === 0) return `${init.file}: ${init.what}${expected}`;
  const where = init.column > 0 ? `${init.file}:${init.line}:${init.column}` : `${init.file}:${init.line}`;
  const head = `${where}: ${init.what}${expected}`;
  if (init.column === 0) return `${head}\n${init.source}`;
  return `${head}\n${init.source}\n${caretUnder(init.source, init.column)}`;
}

export class ConfigError extends InputError {
  declare readonly code: ConfigErrorCode;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly classic: string;
  readonly source: string;

  constructor(init: ConfigErrorInit) {
    super(init.code, compilerMessage(init), init.cause === undefined ? undefined : { cause: init.cause });
    this.file = init.file;
    this.line = init.line;
    this.column = init.column;
    this.classic = init.classic;
    this.source = init.source;
  }
}

/** A configuration file with at least one invalid line: the whole file is rejected (c.12). */
export class ConfigFileError extends InputError {
  readonly file: string;
  readonly errors: readonly ConfigError[];

  constructor(file: string, errors: readonly ConfigError[]) {
    const count = errors.length === 1 ? '1 invalid line' : `${errors.length} invalid lines`;
    super(
      'E_CONF_INVALID',
      `${file}: ${count}; the whole file is rejected\n${errors.map((e) => e.message).join('\n')}`,
    );
    this.file = file;
    this.errors = errors;
  }

  /** The classic messages, one per invalid line, in file order. */
  get classicMessages(): string[] {
    return this.errors.map((e) => e.classic);
  }
}

/** One thing wrong with one line, found by a field parser; the file parser adds file and line. */
export class LineProblem {
  constructor(
    readonly code: ConfigErrorCode,
    readonly column: number,
    readonly what: string,
    readonly expected?: string,
  ) {}

  toError(kind: ConfigKind, file: string, line: number, source: string): ConfigError {
    return new ConfigError({
      code: this.code,
      file,
      line,
      column: this.column,
      source,
      classic: classicMessage(kind, this.code, line, file),
      what: this.what,
      ...(this.expected === undefined ? {} : { expected: this.expected }),
    });
  }
}

/** A text config file that exists but cannot be read (classic text of c.1 / e). */
export function unreadableError(
  kind: ConfigKind,
  file: string,
  reason: string,
  cause?: unknown,
): ConfigError {
  const what = kind === 'sockd.route' ? 'routing file' : 'config file';
  return new ConfigError({
    code: 'E_CONF_UNREADABLE',
    file,
    line: 0,
    column: 0,
    source: '',
    classic: `Unable to open ${what} (${file})`,
    what: `cannot read the ${what}: ${reason}`,
    expected: 'a readable file',
    ...(cause === undefined ? {} : { cause }),
  });
}
