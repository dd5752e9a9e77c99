/**
 * Reads the markdown tables of the spec examples (test/fixtures/spec/*.expect.md) so table tests
 * run every row the spec lists instead of hand-copied rows.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const fixtureDir = fileURLToPath(new URL('../../fixtures/spec/', import.meta.url));

export function fixturePath(name: string): string {
  return fixtureDir + name;
}

export function readFixture(name: string): string {
  return readFileSync(fixturePath(name), 'utf8');
}

export interface MarkdownTable {
  readonly header: readonly string[];
  /** Each row keyed by header cell. */
  readonly rows: readonly Readonly<Record<string, string>>[];
}

function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((c) => c.trim());
}

/** Every pipe table of a markdown document, in order. */
export function markdownTables(markdown: string): MarkdownTable[] {
  const lines = markdown.split('\n');
  const tables: MarkdownTable[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    const head = lines[i] ?? '';
    const sep = lines[i + 1] ?? '';
    if (!head.trimStart().startsWith('|') || !/^\s*\|[-| :]+\|\s*$/.test(sep)) continue;
    const header = cells(head);
    const rows: Record<string, string>[] = [];
    let j = i + 2;
    for (; j < lines.length && (lines[j] ?? '').trimStart().startsWith('|'); j++) {
      const row = cells(lines[j] ?? '');
      rows.push(Object.fromEntries(header.map((h, k) => [h, row[k] ?? ''])));
    }
    tables.push({ header, rows });
    i = j - 1;
  }
  return tables;
}

/** The first table of `fixture` whose header contains every one of `columns`. */
export function specTable(fixture: string, columns: readonly string[]): MarkdownTable {
  const table = markdownTables(readFixture(fixture)).find((t) => columns.every((c) => t.header.includes(c)));
  if (!table) throw new Error(`${fixture}: no table with columns ${columns.join(', ')}`);
  return table;
}

/** `code` spans of a cell, without the backticks. */
export function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]*)`/g)].map((m) => m[1] ?? '');
}
