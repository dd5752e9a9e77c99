/**
 * sockd.conf parser (spec c.2–c.12): `action [?=mode] [*=users] src mask [dst mask] [op port] [: cmd]`
 * plus the special `#NO_IDENTD:` / `#BAD_ID:` lines. Any invalid line rejects the whole file.
 */
import type { IdentdField, IdentdMode, ServerConfig, ServerRule, SpecialCommand } from './ast.ts';
import { LineProblem } from './config-error.ts';
import {
  defaultedAddr,
  isOperator,
  readAddrPair,
  readOptionalUsers,
  readPortTail,
  ruleTail,
} from './fields.ts';
import type { Field } from './lexer.ts';
import { parseLines, type RuleLine } from './parse-driver.ts';
import { builtinServices, type ServiceTable } from './services.ts';

export interface ParseOptions {
  /** Path used in messages and carried by every AST node. */
  readonly file: string;
  /** Service names for port fields; defaults to the built-in Debian table. */
  readonly services?: ServiceTable;
}

/** Longest sockd.conf line, terminator excluded (c.2). */
export const SOCKD_CONF_MAX_LINE = 1023;

/** The exact letters allowed after `?=` (case-sensitive, c.3 step 2). */
const IDENTD_MODES: Readonly<Record<string, IdentdMode>> = {
  I: 'strict', // identd must confirm the user; unavailable → 92
  i: 'lenient', // a mismatch refuses; unavailable is tolerated
  n: 'off', // no identd query for this line
  '': 'off', // bare `?=` means the same as `?=n`
};

function parseIdentd(field: Field, file: string, line: number): IdentdField {
  const letters = field.text.slice(2);
  const mode = Object.hasOwn(IDENTD_MODES, letters) ? IDENTD_MODES[letters] : undefined;
  if (mode === undefined) {
    throw new LineProblem(
      'E_CONF_IDENTD',
      field.column,
      `identd field "${field.text}"`,
      '?=I, ?=i, ?=n or ?=',
    );
  }
  return { mode, text: field.text, pos: { file, line, column: field.column } };
}

function parseRule(lexed: RuleLine, file: string, services: ServiceTable): ServerRule {
  const { fields, line, endColumn } = lexed;
  const actionField = fields[0];
  const action = actionField?.text.toLowerCase();
  if (actionField === undefined || (action !== 'permit' && action !== 'deny')) {
    throw new LineProblem(
      'E_CONF_ACTION',
      actionField?.column ?? 1,
      `unknown action "${actionField?.text ?? ''}"`,
      'permit or deny',
    );
  }
  let i = 1;
  let identd: IdentdField | undefined;
  const identdField = fields[i];
  if (identdField?.text.startsWith('?=')) {
    identd = parseIdentd(identdField, file, line);
    i++;
  }
  const users = readOptionalUsers(fields, i, file, line);
  if (users) i++;
  const src = readAddrPair(fields, i, endColumn, { file, line, maskCode: 'E_CONF_SRC_MASK', role: 'source' });
  i = src.next;
  let dst = defaultedAddr(file, line, fields[i]?.column ?? endColumn);
  let dstDefaulted = true;
  const dstField = fields[i];
  if (dstField !== undefined && !isOperator(dstField.text)) {
    const pair = readAddrPair(fields, i, endColumn, {
      file,
      line,
      maskCode: 'E_CONF_DST_MASK',
      role: 'destination',
    });
    dst = pair.spec;
    dstDefaulted = false;
    i = pair.next;
  }
  const port = readPortTail(fields, i, endColumn, file, line, services);
  return {
    file,
    line,
    source: lexed.source,
    action,
    src: src.spec,
    dst,
    dstDefaulted,
    ...(identd === undefined ? {} : { identd }),
    ...ruleTail(users, port, lexed.command),
  };
}

/** Parses sockd.conf text; throws ConfigFileError carrying every invalid line. */
export function parseSockdConf(text: string, options: ParseOptions): ServerConfig {
  const { file } = options;
  const services = options.services ?? builtinServices;
  let noIdentd: SpecialCommand | undefined;
  let badId: SpecialCommand | undefined;
  const rules = parseLines(text, {
    kind: 'sockd.conf',
    file,
    maxLength: SOCKD_CONF_MAX_LINE,
    specials: true,
    parseLine: (lexed) => parseRule(lexed, file, services),
    onSpecial: (lexed) => {
      // Only the first line of each kind counts (c.11).
      const special = { line: lexed.line, command: lexed.command };
      if (lexed.special === 'NO_IDENTD') noIdentd ??= special;
      else badId ??= special;
    },
  });
  return {
    kind: 'sockd.conf',
    file,
    rules,
    ...(noIdentd === undefined ? {} : { noIdentd }),
    ...(badId === undefined ? {} : { badId }),
  };
}
