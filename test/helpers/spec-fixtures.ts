/**
 * The conventions of test/fixtures/spec/README.md made executable: user files under
 * /etc/sockd/ mapped onto the fixture folder, the DNS fixtures of each `.expect.md` as a
 * Resolver, and identd column notation as policy input.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Resolver } from '../../src/common/resolver.ts';
import { tableResolver } from '../../src/common/table-resolver.ts';
import type { UserFileReader } from '../../src/config/user-file.ts';
import type { IdentdResult } from '../../src/policy/server-access.ts';
import { parseIdentAnswer } from '../../src/protocol/ident.ts';
import { fsUserFileReader } from '../../src/server/user-files.ts';
import { type MdTable, unquote } from './md-table.ts';

export const specFixtureDir = fileURLToPath(new URL('../fixtures/spec/', import.meta.url));

export function readSpecFixture(name: string): string {
  return readFileSync(join(specFixtureDir, name), 'utf8');
}

/** `/etc/sockd/NAME` read from the fixture folder (missing.users is absent there too). */
export const specUserFiles: UserFileReader = (path) =>
  fsUserFileReader(
    path.startsWith('/etc/sockd/') ? join(specFixtureDir, path.slice('/etc/sockd/'.length)) : path,
  );

const IPV4 = /\b\d{1,3}(?:\.\d{1,3}){3}\b/g;

/**
 * DNS fixture of an `.expect.md`: the PTR table (address | PTR answer | forward lookup …), and
 * the prose forms `` `name` → ip ``, `` `name` ⇄ ip ``, `` ip ⇄ `name` `` and `→ no such name`.
 */
export function specResolver(markdown: string, tables: readonly MdTable[]): Resolver {
  const reverse = new Map<string, string[]>();
  const forward = new Map<string, string[]>();
  const addForward = (name: string, ip: string) => {
    const list = forward.get(name) ?? [];
    if (!list.includes(ip)) list.push(ip);
    forward.set(name, list);
  };
  for (const table of tables) {
    if (!table.header.includes('PTR answer')) continue;
    for (const row of table.rows) {
      const address = row.get('address');
      const ptr = row.get('PTR answer');
      if (ptr.startsWith('(none)')) continue;
      const names = [
        ptr.replace(/\s*\(.*$/, ''),
        ...[...ptr.matchAll(/alias ([^)\s,]+)/g)].map((m) => m[1]!),
      ];
      reverse.set(address, names);
      const fwd = row.get('forward lookup of that name').replace(/\(.*\)/g, '');
      for (const name of names) for (const ip of fwd.match(IPV4) ?? []) addForward(name, ip);
    }
  }
  for (const m of markdown.matchAll(/`([^`]+)`\s*(→|⇄)\s*(\d{1,3}(?:\.\d{1,3}){3})/g)) {
    addForward(m[1]!, m[3]!);
    if (m[2] === '⇄') reverse.set(m[3]!, [...(reverse.get(m[3]!) ?? []), m[1]!]);
  }
  for (const m of markdown.matchAll(/(\d{1,3}(?:\.\d{1,3}){3})\s*⇄\s*`([^`]+)`/g)) {
    addForward(m[2]!, m[1]!);
    reverse.set(m[1]!, [...(reverse.get(m[1]!) ?? []), m[2]!]);
  }
  return tableResolver({ reverse, forward });
}

/** The hosts-file form (`ip name`) of the symmetric part of a fixture, for the CLI's --hosts. */
export function hostsFileText(entries: readonly (readonly [string, string])[]): string {
  return `${entries.map(([ip, name]) => `${ip} ${name}`).join('\n')}\n`;
}

/** identd column notation (README): `—` not asked, `USERID x`, `no answer`, `ERROR …`, `answer \`…\``. */
export function identdFromCell(cell: string): IdentdResult {
  const c = cell.trim();
  if (c === '—' || c === '') return { kind: 'not-asked' };
  if (c === 'no answer') return { kind: 'unavailable', reason: 'no answer' };
  const userid = /^USERID (.+)$/.exec(c);
  if (userid) return { kind: 'user', user: userid[1]! };
  if (c.startsWith('ERROR')) return { kind: 'unavailable', reason: c };
  const answer = /^answer `(.*)`$/.exec(c);
  if (answer) {
    const parsed = parseIdentAnswer(answer[1]!);
    return parsed.kind === 'user'
      ? { kind: 'user', user: parsed.user }
      : { kind: 'unavailable', reason: parsed.kind };
  }
  throw new Error(`unknown identd notation: ${cell}`);
}

/** User column: `(empty)` → '', backticks removed. */
export function userFromCell(cell: string): string {
  return cell === '(empty)' ? '' : unquote(cell);
}

/** A destination cell: `4A name \`X\`` → { name }, else the leading address. */
export function destinationFromCell(cell: string): { readonly name: string } | { readonly ip: string } {
  const name = /4A name `([^`]+)`/.exec(cell);
  if (name) return { name: name[1]! };
  const ip = cell.match(IPV4)?.[0];
  if (ip === undefined) throw new Error(`no destination in cell: ${cell}`);
  return { ip };
}

/** `7` → 7, `—`/`none`/'' → null. */
export function lineFromCell(cell: string): number | null {
  const m = /^(\d+)/.exec(cell.trim());
  return m ? Number(m[1]) : null;
}

/**
 * The "commands run (expanded)" notation: `none`; `line N` (no expansion given); `line N: \`cmd\``;
 * `line N (…\`part\`…)`; a bare `\`cmd\`` (the row's own line). `…` inside a snippet means "any
 * text"; `<pid>` is the server pid.
 */
export interface ExpectedCommand {
  readonly line: number | null;
  /** Pieces that must appear in order; `exact` when the snippet had no `…`. */
  readonly pieces: readonly string[];
  readonly exact: boolean;
}

export function commandsFromCell(cell: string, pid: number): ExpectedCommand[] | null {
  const c = cell.trim();
  if (c === '' || c.startsWith('none')) return [];
  const segments = c.split(/(?=\bline \d+)/).filter((s) => s.trim() !== '');
  const out: ExpectedCommand[] = [];
  for (const seg of segments) {
    const line = /^line (\d+)/.exec(seg);
    const snippet = /`([^`]*)`/.exec(seg)?.[1];
    if (!line && snippet === undefined) continue;
    const text = (snippet ?? '').replace(/<pid>/g, String(pid));
    const pieces = text
      .split('…')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    out.push({
      line: line ? Number(line[1]) : null,
      pieces,
      exact: snippet !== undefined && !seg.includes('…'),
    });
  }
  return out;
}

/** true when `pieces` occur in `text` in order (a `…`-pattern). */
export function containsInOrder(text: string, pieces: readonly string[]): boolean {
  let from = 0;
  for (const p of pieces) {
    const at = text.indexOf(p, from);
    if (at === -1) return false;
    from = at + p.length;
  }
  return true;
}
