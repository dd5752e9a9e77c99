/**
 * Field-level parsers shared by the three config languages: addresses and masks (c.5, with the
 * mask-omission relaxation of c.3), operators and ports (c.7, c.9), user lists (c.8).
 * They throw `LineProblem`, which each file parser turns into a `ConfigError` with its own
 * classic message.
 */
import { dottedOf as dotted } from '../common/inet-address.ts';
import type { AddrSpec, HostPattern, PortOp, PortTest, UserList, UserListElement } from './ast.ts';
import { PortOps } from './ast.ts';
import { type ConfigErrorCode, LineProblem } from './config-error.ts';
import { inetAton } from './inet.ts';
import type { Field } from './lexer.ts';
import type { ServiceTable } from './services.ts';

export function isOperator(text: string): boolean {
  return (PortOps as readonly string[]).includes(text.toLowerCase());
}

/** c.5: numeric (inet_aton), `ALL` (case-sensitive), zone `.x.y`, or host name; names lower-cased. */
export function hostPattern(text: string): HostPattern {
  const addr = inetAton(text);
  if (addr !== undefined) return { kind: 'ip', addr };
  if (text === 'ALL') return { kind: 'all' };
  if (text.startsWith('.')) return { kind: 'zone', zone: text.slice(1).toLowerCase() };
  return { kind: 'name', name: text.toLowerCase() };
}

/** The destination `0.0.0.0 0.0.0.0` that stands for an omitted destination pair. */
export function defaultedAddr(file: string, line: number, column: number): AddrSpec {
  return {
    pattern: { kind: 'ip', addr: 0 },
    mask: 0,
    text: '',
    maskOmitted: true,
    pos: { file, line, column },
  };
}

export interface AddrPairOptions {
  readonly file: string;
  readonly line: number;
  /** Code for a mask that is present but not numeric. */
  readonly maskCode: ConfigErrorCode;
  /** `source`, `destination`, `interface`: used in messages. */
  readonly role: string;
}

/**
 * Reads `addr [mask]` starting at `fields[index]` (which must exist). The mask may be omitted
 * after a pattern or `ALL` when it would be the last field or is an operator (c.3).
 * Returns the spec and the index of the next unread field.
 */
export function readAddrPair(
  fields: readonly Field[],
  index: number,
  endColumn: number,
  options: AddrPairOptions,
): { spec: AddrSpec; next: number } {
  const addrField = fields[index];
  if (addrField === undefined) {
    throw new LineProblem('E_CONF_ENTRY', endColumn, `missing ${options.role} address`, 'an address');
  }
  const pattern = hostPattern(addrField.text);
  const pos = { file: options.file, line: options.line, column: addrField.column };
  const maskField = fields[index + 1];
  if (pattern.kind !== 'ip' && (maskField === undefined || isOperator(maskField.text))) {
    return { spec: { pattern, mask: 0, text: addrField.text, maskOmitted: true, pos }, next: index + 1 };
  }
  if (maskField === undefined) {
    throw new LineProblem(
      'E_CONF_ENTRY',
      endColumn,
      `numeric ${options.role} address ${dotted(pattern.kind === 'ip' ? pattern.addr : 0)} has no mask`,
      'a mask after it',
    );
  }
  const mask = inetAton(maskField.text);
  if (mask === undefined) {
    throw new LineProblem(
      options.maskCode,
      maskField.column,
      `${options.role} mask "${maskField.text}" is not numeric`,
      'a numeric mask such as 255.255.0.0',
    );
  }
  return { spec: { pattern, mask, text: addrField.text, maskOmitted: false, pos }, next: index + 2 };
}

/** c.7: service name first, then leading decimal digits (`80abc` → 80); < 65536. */
export function parsePort(field: Field, services: ServiceTable): number {
  const named = services.portOf(field.text);
  if (named !== undefined) return named;
  const digits = /^[0-9]+/.exec(field.text);
  if (!digits) {
    throw new LineProblem(
      'E_CONF_PORT',
      field.column,
      `port "${field.text}" is neither a service name nor a number`,
      'a TCP service name or a port number',
    );
  }
  const port = Number(digits[0]);
  if (port >= 65536) {
    throw new LineProblem(
      'E_CONF_PORT',
      field.column,
      `port ${digits[0]} is too large`,
      'a port below 65536',
    );
  }
  return port;
}

/** c.8: `*=a,/file,,b`; `*=` alone is the empty list (all users). */
export function parseUserList(field: Field, file: string, line: number): UserList {
  const body = field.text.slice(2);
  const elements: UserListElement[] =
    body === ''
      ? []
      : body
          .split(',')
          .map((el) => (el.startsWith('/') ? { kind: 'file', path: el } : { kind: 'name', name: el }));
  return { text: field.text, elements, pos: { file, line, column: field.column } };
}

/** Rejects any field after the last one the line form allows (c.3 step 7). */
export function rejectLeftover(fields: readonly Field[], index: number): void {
  const extra = fields[index];
  if (extra !== undefined) {
    throw new LineProblem('E_CONF_ENTRY', extra.column, `unexpected field "${extra.text}"`, 'end of line');
  }
}

/** An optional `*=` user list at `fields[index]` (c.5, d.3); the caller moves past it when found. */
export function readOptionalUsers(
  fields: readonly Field[],
  index: number,
  file: string,
  line: number,
): UserList | undefined {
  const field = fields[index];
  return field?.text.startsWith('*=') ? parseUserList(field, file, line) : undefined;
}

/** The tail both rule files share (c.3, d.3): an optional `op port` test at `fields[index]`, then nothing. */
export function readPortTail(
  fields: readonly Field[],
  index: number,
  endColumn: number,
  file: string,
  line: number,
  services: ServiceTable,
): PortTest | undefined {
  const opField = fields[index];
  if (opField === undefined) return undefined;
  if (!isOperator(opField.text)) {
    throw new LineProblem(
      'E_CONF_COMPARISON',
      opField.column,
      `"${opField.text}" is not an operator`,
      'one of eq neq lt gt le ge',
    );
  }
  const portField = fields[index + 1];
  if (portField === undefined) {
    throw new LineProblem(
      'E_CONF_ENTRY',
      endColumn,
      `operator ${opField.text} has no port`,
      'a port after it',
    );
  }
  const port = parsePort(portField, services);
  rejectLeftover(fields, index + 2);
  return {
    op: opField.text.toLowerCase() as PortOp,
    port,
    text: portField.text,
    pos: { file, line, column: opField.column },
  };
}

/** The optional fields both rule files end a rule with, each present only when the line has it. */
export function ruleTail(
  users: UserList | undefined,
  port: PortTest | undefined,
  command: string | undefined,
): { users?: UserList; port?: PortTest; command?: string } {
  return {
    ...(users === undefined ? {} : { users }),
    ...(port === undefined ? {} : { port }),
    ...(command === undefined ? {} : { command }),
  };
}
