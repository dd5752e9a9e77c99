/**
 * Lexical structure shared by sockd.conf, socks.conf and sockd.route (spec c.2): physical lines,
 * CR stripping, length limit, special `#NO_IDENTD:`/`#BAD_ID:` lines, `#` comments before the
 * first `:`, the verbatim shell command after it, and blank/tab-separated fields with columns.
 */

export interface Field {
  readonly text: string;
  /** 1-based column of the field's first character in the physical line. */
  readonly column: number;
}

export type SpecialKind = 'NO_IDENTD' | 'BAD_ID';

export type LexedLine =
  /** blank or comment-only line */
  | { readonly kind: 'empty'; readonly line: number; readonly source: string }
  | { readonly kind: 'too-long'; readonly line: number; readonly source: string; readonly length: number }
  | {
      readonly kind: 'special';
      readonly line: number;
      readonly source: string;
      readonly special: SpecialKind;
      /** text after `#NO_IDENTD:` / `#BAD_ID:` verbatim */
      readonly command: string;
    }
  | {
      readonly kind: 'fields';
      readonly line: number;
      readonly source: string;
      readonly fields: readonly Field[];
      /** everything after the first `:`, verbatim; absent when the line has no `:` before a `#` */
      readonly command?: string;
      /** 1-based column of the `:` that starts the command */
      readonly commandColumn?: number;
      /** column just past the rule part, where a missing field would have stood */
      readonly endColumn: number;
    };

export interface LexOptions {
  /** Longest line allowed, terminator excluded: 1023 for sockd.conf, 1024 for socks.conf/route. */
  readonly maxLength: number;
  /** Recognise `#NO_IDENTD:` / `#BAD_ID:` in column 1 (sockd.conf only). */
  readonly specials: boolean;
}

const SPECIAL_PREFIXES = [
  ['#NO_IDENTD:', 'NO_IDENTD'],
  ['#BAD_ID:', 'BAD_ID'],
] as const;

const encoder = new TextEncoder();

/** Physical lines without terminators; one CR before each LF (and at the very end) is removed. */
export function physicalLines(text: string): string[] {
  const lines = text.split('\n');
  // A final LF terminates the last line rather than starting an empty one.
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

/** Splits a rule part into fields on runs of blanks and tabs, keeping 1-based columns. */
export function splitFields(rulePart: string, firstColumn = 1): Field[] {
  const fields: Field[] = [];
  for (const match of rulePart.matchAll(/[^ \t]+/g)) {
    fields.push({ text: match[0], column: firstColumn + match.index });
  }
  return fields;
}

export function lexLine(source: string, line: number, options: LexOptions): LexedLine {
  // The length is counted in bytes, as the original read lines into a byte buffer.
  const length = encoder.encode(source).length;
  if (length > options.maxLength) return { kind: 'too-long', line, source, length };
  if (options.specials) {
    for (const [prefix, special] of SPECIAL_PREFIXES) {
      if (source.startsWith(prefix)) {
        return { kind: 'special', line, source, special, command: source.slice(prefix.length) };
      }
    }
  }
  const colon = source.indexOf(':');
  const hash = source.indexOf('#');
  let rulePart: string;
  let command: string | undefined;
  if (hash !== -1 && (colon === -1 || hash < colon)) {
    rulePart = source.slice(0, hash);
  } else if (colon !== -1) {
    rulePart = source.slice(0, colon);
    command = source.slice(colon + 1);
  } else {
    rulePart = source;
  }
  const fields = splitFields(rulePart);
  // c.2 step 6: no fields means a blank line, even if a `:` command follows.
  if (fields.length === 0) return { kind: 'empty', line, source };
  const last = fields[fields.length - 1];
  const endColumn = last === undefined ? 1 : last.column + last.text.length + 1;
  if (command === undefined) return { kind: 'fields', line, source, fields, endColumn };
  return { kind: 'fields', line, source, fields, command, commandColumn: colon + 1, endColumn };
}

/** Every physical line of `text`, numbered from 1. */
export function lexText(text: string, options: LexOptions): LexedLine[] {
  return physicalLines(text).map((source, index) => lexLine(source, index + 1, options));
}
