/**
 * Turns parsed AST nodes and the spec's "parsed rules" table cells into one canonical text so the
 * tables in test/fixtures/spec/*.expect.md can be compared row by row.
 */
import { dottedOf as dotted } from '../../../src/common/inet-address.ts';
import type { AddrSpec, IdentdField, PortTest, ServerListField, UserList } from '../../../src/config/ast.ts';

/** Removes `**bold**`, parenthesised remarks and backticks; collapses blanks. */
export function plainCell(cell: string): string {
  return cell
    .replace(/\*\*/g, '')
    .replace(/\([^)]*\)/g, '')
    .replace(/`/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

export function describeAddr(spec: AddrSpec): string {
  switch (spec.pattern.kind) {
    case 'ip':
      return `${dotted(spec.pattern.addr)}/${dotted(spec.mask)}`;
    case 'all':
      return 'ALL';
    case 'name':
      return `host ${spec.pattern.name}`;
    case 'zone':
      return `zone .${spec.pattern.zone}`;
  }
}

export function addrCell(cell: string): string {
  const plain = plainCell(cell);
  return plain === 'any' ? '0.0.0.0/0.0.0.0' : plain;
}

export function describeIdentd(field: IdentdField | undefined): string {
  return field?.mode ?? 'global';
}

export function identdCell(cell: string): string {
  return cell.trim().startsWith('(global)') ? 'global' : (plainCell(cell).split(' ')[0] ?? '');
}

export function describeUsers(list: UserList | undefined): string {
  if (list === undefined || list.elements.length === 0) return 'all';
  return list.elements
    .map((el) => (el.kind === 'name' ? `name ${el.name}` : `file ${el.path.split('/').pop() ?? ''}`))
    .join(', ');
}

/** `guest`, file banned.users / missing file, `carol` / all (empty `*=`) */
export function usersCell(cell: string): string {
  if (plainCell(cell) === 'all') return 'all';
  return cell
    .split(/,\s*/)
    .map((piece) => {
      const name = /^`([^`]*)`$/.exec(piece.trim());
      if (name) return `name ${name[1]}`;
      // The spec names the absent user file of the fixture "missing file".
      if (piece.trim() === 'missing file') return 'file missing.users';
      return plainCell(piece);
    })
    .join(', ');
}

export function describePort(port: PortTest | undefined): string {
  return port === undefined ? 'any' : `${port.op} ${port.port}`;
}

/** `eq 23`, `any`, `neq 25; command` → the port part only. */
export function portCell(cell: string): { port: string; command: boolean } {
  const [first = '', ...rest] = cell.split(';');
  return { port: plainCell(first), command: rest.some((r) => r.trim() === 'command') };
}

/** `—` for deny/direct; `default` for a sockd line without a list or with an empty one. */
export function describeServers(action: string, list: ServerListField | undefined): string {
  if (action !== 'sockd') return '—';
  return list === undefined || list.entries.length === 0 ? 'default' : list.entries.join(', ');
}

export function serversCell(cell: string): string {
  return plainCell(cell);
}
