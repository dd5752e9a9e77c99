/**
 * socks.conf parser (spec d.2, d.5): `deny|direct [*=users] dst mask [op port] [: cmd]`,
 * `sockd [@=servers] [*=users] dst mask ...` and the one-field `sockd@servers` form.
 * Any invalid line rejects the whole file.
 */
import type { ClientConfig, ClientRule, ServerListField } from './ast.ts';
import { LineProblem } from './config-error.ts';
import { readAddrPair, readOptionalUsers, readPortTail, ruleTail } from './fields.ts';
import type { Field } from './lexer.ts';
import { parseLines, type RuleLine } from './parse-driver.ts';
import { builtinServices, type ServiceTable } from './services.ts';
import type { ParseOptions } from './sockd-conf.ts';

/** Longest socks.conf line, terminator excluded (d.2: the manual allows 1024). */
export const SOCKS_CONF_MAX_LINE = 1024;

/** First fields of lines the client library skipped silently (d.2 compatibility quirk). */
const IGNORED_FIRST_FIELDS: ReadonlySet<string> = new Set(['domain', 'nameserver', 'bind', 'findserver']);

/** Entries of a server list; empty entries (`a,,b`, trailing comma) are skipped like strtok did. */
function serverEntries(list: string): string[] {
  return list.split(',').filter((entry) => entry !== '');
}

function serverList(
  field: Field,
  list: string,
  atForm: boolean,
  file: string,
  line: number,
): ServerListField {
  return {
    text: field.text,
    entries: serverEntries(list),
    atForm,
    pos: { file, line, column: field.column },
  };
}

function parseRule(lexed: RuleLine, file: string, services: ServiceTable): ClientRule | undefined {
  const { fields, line, endColumn } = lexed;
  const first = fields[0];
  if (first === undefined) return undefined;
  let action: ClientRule['action'];
  let servers: ServerListField | undefined;
  let i = 1;
  if (first.text.startsWith('sockd@')) {
    // Case-sensitive prefix, no blank after `@` (d.2).
    action = 'sockd';
    servers = serverList(first, first.text.slice('sockd@'.length), true, file, line);
  } else {
    if (IGNORED_FIRST_FIELDS.has(first.text)) return undefined;
    const keyword = first.text.toLowerCase();
    if (keyword !== 'deny' && keyword !== 'direct' && keyword !== 'sockd') {
      throw new LineProblem(
        'E_CONF_ACTION',
        first.column,
        `unknown action "${first.text}"`,
        'deny, direct or sockd',
      );
    }
    action = keyword;
    const listField = fields[i];
    if (action === 'sockd' && listField?.text.startsWith('@=')) {
      servers = serverList(listField, listField.text.slice(2), false, file, line);
      i++;
    }
  }
  const users = readOptionalUsers(fields, i, file, line);
  if (users) i++;
  const dst = readAddrPair(fields, i, endColumn, {
    file,
    line,
    maskCode: 'E_CONF_DST_MASK',
    role: 'destination',
  });
  i = dst.next;
  const port = readPortTail(fields, i, endColumn, file, line, services);
  return {
    file,
    line,
    source: lexed.source,
    action,
    dst: dst.spec,
    dstDefaulted: false,
    ...(servers === undefined ? {} : { servers }),
    ...ruleTail(users, port, lexed.command),
  };
}

/** Parses socks.conf text; throws ConfigFileError carrying every invalid line. */
export function parseSocksConf(text: string, options: ParseOptions): ClientConfig {
  const { file } = options;
  const services = options.services ?? builtinServices;
  const rules = parseLines(text, {
    kind: 'socks.conf',
    file,
    maxLength: SOCKS_CONF_MAX_LINE,
    specials: false,
    parseLine: (lexed) => parseRule(lexed, file, services),
  });
  return { kind: 'socks.conf', file, rules };
}
