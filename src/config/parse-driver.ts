/**
 * The loop every config parser shares: lex each physical line, hand rule lines to the
 * file-specific line parser, and collect every invalid line so the whole file can be rejected
 * at once with all its errors (c.12, fail closed).
 */
import { type ConfigError, ConfigFileError, type ConfigKind, LineProblem } from './config-error.ts';
import { type LexedLine, type LexOptions, lexText } from './lexer.ts';

export type RuleLine = Extract<LexedLine, { kind: 'fields' }>;
export type SpecialLine = Extract<LexedLine, { kind: 'special' }>;

export interface DriverOptions<T> extends LexOptions {
  readonly kind: ConfigKind;
  readonly file: string;
  /** Parses one rule line; throws LineProblem when it is invalid; undefined = ignored line. */
  readonly parseLine: (line: RuleLine) => T | undefined;
  readonly onSpecial?: (line: SpecialLine) => void;
}

/** The parsed items in file order; throws ConfigFileError listing every invalid line. */
export function parseLines<T>(text: string, options: DriverOptions<T>): T[] {
  const items: T[] = [];
  const errors: ConfigError[] = [];
  for (const lexed of lexText(text, options)) {
    switch (lexed.kind) {
      case 'empty':
        break;
      case 'special':
        options.onSpecial?.(lexed);
        break;
      case 'too-long':
        errors.push(
          new LineProblem(
            'E_CONF_TOO_LONG',
            options.maxLength + 1,
            `line is ${lexed.length} bytes long`,
            `at most ${options.maxLength}`,
          ).toError(options.kind, options.file, lexed.line, lexed.source),
        );
        break;
      case 'fields':
        try {
          const item = options.parseLine(lexed);
          if (item !== undefined) items.push(item);
        } catch (err) {
          if (!(err instanceof LineProblem)) throw err;
          errors.push(err.toError(options.kind, options.file, lexed.line, lexed.source));
        }
        break;
    }
  }
  if (errors.length > 0) throw new ConfigFileError(options.file, errors);
  return items;
}
