import type { PortTest, UserList } from '../config/ast.ts';
import type { UserFileReader } from '../config/user-file.ts';

/** c.9 port test; an absent test is always true. */
export function portMatches(test: PortTest | undefined, port: number): boolean {
  if (!test) return true;
  switch (test.op) {
    case 'eq':
      return port === test.port;
    case 'neq':
      return port !== test.port;
    case 'lt':
      return port < test.port;
    case 'gt':
      return port > test.port;
    case 'le':
      return port <= test.port;
    case 'ge':
      return port >= test.port;
  }
}

export interface UserMatch {
  readonly matched: boolean;
  /** `Unable to open userfile (PATH): TEXT` for a file element that could not be read (h.6). */
  readonly errors: readonly string[];
}

/**
 * c.8 user list: elements left to right, first hit decides; exact byte equality; an unreadable
 * file makes the whole list fail at once, even if a later element would match (fail closed).
 */
// The answers without errors are shared: matching runs for every rule of every request.
const Matched: UserMatch = Object.freeze({ matched: true, errors: Object.freeze([]) as readonly string[] });
const NotMatched: UserMatch = Object.freeze({
  matched: false,
  errors: Object.freeze([]) as readonly string[],
});

export function usersMatch(list: UserList | undefined, user: string, read: UserFileReader): UserMatch {
  if (!list || list.elements.length === 0) return Matched;
  for (const el of list.elements) {
    if (el.kind === 'name') {
      if (el.name === user) return Matched;
      continue;
    }
    const file = read(el.path);
    if (!file.ok) return { matched: false, errors: [`Unable to open userfile (${el.path}): ${file.error}`] };
    if (file.names.includes(user)) return Matched;
  }
  return NotMatched;
}
