import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { aliasProblems } from '../common/yaml-aliases.ts';
import {
  TopologyErrorCode as Codes,
  type TopologyErrorCode,
  type TopologyIssue,
  type YamlPath,
} from './errors.ts';

/**
 * A parsed YAML file that remembers where everything came from, so every problem found later
 * (schema, semantics, a bad line inside an inline config) can name file, YAML path and line:col.
 */
export class YamlSource {
  readonly file: string;
  readonly text: string;
  readonly doc: Document.Parsed;
  readonly lines: readonly string[];
  private readonly counter: LineCounter;

  constructor(file: string, text: string) {
    this.file = file;
    this.text = text;
    this.counter = new LineCounter();
    this.doc = parseDocument(text, { lineCounter: this.counter, prettyErrors: false, uniqueKeys: false });
    this.lines = text.split(/\r?\n/);
  }

  /** Position of an offset, 1-based. */
  position(offset: number): { line: number; column: number } {
    const p = this.counter.linePos(offset);
    return { line: p.line, column: p.col };
  }

  /** The node at a path, or the deepest existing ancestor. */
  nodeAt(path: YamlPath): { node: Node | null; exact: boolean } {
    let node: unknown = this.doc.contents;
    for (let i = 0; i < path.length; i++) {
      const next = this.doc.getIn(path.slice(0, i + 1), true) as unknown;
      if (next === undefined || next === null || typeof next !== 'object') {
        return { node: node as Node | null, exact: false };
      }
      node = next;
    }
    return { node: node as Node | null, exact: true };
  }

  /** Where the *key* `key` of the map at `mapPath` is written. */
  keyPosition(mapPath: YamlPath, key: string): { line: number; column: number } | null {
    const map = mapPath.length === 0 ? this.doc.contents : this.doc.getIn(mapPath, true);
    if (!isMap(map)) return null;
    for (const pair of map.items) {
      if (isScalar(pair.key) && String(pair.key.value) === key && pair.key.range) {
        return this.position(pair.key.range[0]);
      }
    }
    return null;
  }

  /** Where the value at `path` starts (or its nearest ancestor). */
  valuePosition(path: YamlPath): { line: number; column: number } {
    const { node } = this.nodeAt(path);
    const range = node && 'range' in node ? (node.range as [number, number, number] | undefined) : undefined;
    if (!range) return { line: 0, column: 0 };
    return this.position(range[0]);
  }

  /**
   * For a block scalar (`|`), the YAML line/column of its first content line: config line N,
   * column C is then YAML line + N - 1, column + C - 1. For other scalars, the value's start.
   */
  blockStart(path: YamlPath): { line: number; column: number } {
    const { node, exact } = this.nodeAt(path);
    const start = this.valuePosition(path);
    if (!exact || !isScalar(node) || (node.type !== 'BLOCK_LITERAL' && node.type !== 'BLOCK_FOLDED'))
      return start;
    // The header (`|`, `|-`, `|2`) ends its line; content starts on the next non-blank line.
    for (let l = start.line + 1; l <= this.lines.length; l++) {
      const text = this.lines[l - 1] ?? '';
      if (text.trim() === '') continue;
      const indent = text.length - text.trimStart().length;
      // The first content line of a block scalar sets the indentation of all others.
      return { line: start.line + 1, column: indent + 1 };
    }
    return start;
  }

  excerpt(line: number, column: number): string[] {
    if (line <= 0) return [];
    const source = this.lines[line - 1];
    if (source === undefined) return [];
    const caret = `${source.slice(0, Math.max(0, column - 1)).replace(/[^\t]/g, ' ')}^`;
    return [source, caret];
  }

  issue(
    code: TopologyErrorCode,
    path: YamlPath,
    message: string,
    at?: { line: number; column: number } | null,
  ): TopologyIssue {
    const pos = at ?? this.valuePosition(path);
    return {
      code,
      file: this.file,
      path,
      line: pos.line,
      column: pos.column,
      message,
      excerpt: this.excerpt(pos.line, pos.column),
    };
  }

  /** YAML syntax problems (and duplicate keys), as issues. */
  syntaxIssues(): TopologyIssue[] {
    const out: TopologyIssue[] = [];
    for (const err of this.doc.errors) {
      const pos = this.position(err.pos[0]);
      const message = err.message.split('\n')[0] ?? err.message;
      out.push(this.issue(Codes.Yaml, [], message, pos));
    }
    this.duplicateKeys(this.doc.contents, [], out);
    // Only a document that parsed can have its aliases checked (and converted).
    if (out.length === 0) {
      for (const a of aliasProblems(this.doc))
        out.push(this.issue(Codes.Yaml, [], a.message, this.position(a.offset)));
    }
    return out;
  }

  private duplicateKeys(node: unknown, path: (string | number)[], out: TopologyIssue[]): void {
    if (isSeq(node)) {
      node.items.forEach((item, i) => {
        this.duplicateKeys(item, [...path, i], out);
      });
      return;
    }
    if (!isMap(node)) return;
    const seen = new Map<string, number>();
    for (const pair of node.items) {
      if (!isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      const pos = pair.key.range ? this.position(pair.key.range[0]) : { line: 0, column: 0 };
      const first = seen.get(key);
      if (first !== undefined) {
        out.push(
          this.issue(
            Codes.Duplicate,
            [...path, key],
            `\`${key}\` is defined twice (first on line ${first})`,
            pos,
          ),
        );
      } else {
        seen.set(key, pos.line);
      }
      this.duplicateKeys(pair.value, [...path, key], out);
    }
  }
}
