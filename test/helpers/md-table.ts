/**
 * A small reader for the pipe tables of the spec's `*.expect.md` files: every table with the
 * heading it sits under, its header cells and its rows (cells trimmed, as written).
 */

export interface MdTable {
  /** Text of the nearest `#` heading above the table ('' when none). */
  readonly heading: string;
  /** 1-based line of the header row, for failure messages. */
  readonly line: number;
  readonly header: readonly string[];
  readonly rows: readonly MdRow[];
}

export interface MdRow {
  /** 1-based line in the markdown file. */
  readonly line: number;
  readonly cells: readonly string[];
  /** Cell by header name; '' for a missing cell. */
  get(column: string): string;
  has(column: string): boolean;
}

function splitRow(line: string): string[] {
  const inner = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split('|').map((c) => c.trim());
}

const isDelimiter = (line: string) => /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(line);

export function readMdTables(text: string): MdTable[] {
  const lines = text.split('\n');
  const tables: MdTable[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const h = /^#+\s+(.*)$/.exec(line);
    if (h) {
      heading = h[1]!.trim();
      continue;
    }
    if (!line.trim().startsWith('|') || !isDelimiter(lines[i + 1] ?? '')) continue;
    const header = splitRow(line);
    const rows: MdRow[] = [];
    let j = i + 2;
    for (; j < lines.length && lines[j]!.trim().startsWith('|'); j++) {
      const cells = splitRow(lines[j]!);
      rows.push({
        line: j + 1,
        cells,
        get: (column) => {
          const k = header.indexOf(column);
          return k === -1 ? '' : (cells[k] ?? '');
        },
        has: (column) => header.includes(column),
      });
    }
    tables.push({ heading, line: i + 1, header, rows });
    i = j - 1;
  }
  return tables;
}

/** The backticked snippets of a cell, in order (`a` … `b` → ['a', 'b']). */
export function backticked(cell: string): string[] {
  return [...cell.matchAll(/`([^`]*)`/g)].map((m) => m[1]!);
}

/** A cell's text without surrounding backticks (`` `a;b` `` → `a;b`). */
export function unquote(cell: string): string {
  const m = /^`(.*)`$/.exec(cell);
  return m ? m[1]! : cell;
}
