import { type Document, visit } from 'yaml';

/**
 * Alias problems the YAML parser does not report as errors: it leaves `*name` unresolved until
 * the document is converted, and then throws without a position. Found here first, at the alias.
 */
export interface AliasProblem {
  /** Offset of the alias in the text. */
  readonly offset: number;
  readonly message: string;
}

/** Limit on alias expansions (the library's default), against a billion-laughs document. */
const MaxAliasCount = 100;

export function aliasProblems(doc: Document.Parsed): AliasProblem[] {
  const out: AliasProblem[] = [];
  let first: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      const offset = node.range?.[0] ?? 0;
      first ??= offset;
      if (node.resolve(doc) === undefined) {
        out.push({ offset, message: `unknown alias *${node.source}: no anchor &${node.source} before it` });
      }
    },
  });
  if (out.length === 0 && first !== undefined) {
    try {
      doc.toJS({ maxAliasCount: MaxAliasCount });
    } catch (err) {
      out.push({ offset: first, message: `aliases cannot be expanded: ${(err as Error).message}` });
    }
  }
  return out;
}
