/**
 * User files (c.8): the lists of names a `*=` user field may point to (`*=/etc/sockd/staff.users`).
 * Unlike sockd.conf they are read at match time, every time, as the classic server did; so the
 * policy reads them through a reader it is given, and every reader parses them with
 * `parseUserFile`, here with the other config formats.
 */

/** A user file read at match time: its names, or why it could not be opened (h.6). */
export type UserFileReader = (
  path: string,
) =>
  | { readonly ok: true; readonly names: readonly string[] }
  | { readonly ok: false; readonly error: string };

/**
 * The user file format of c.8: `#` starts a comment on each line; names are separated by any
 * mix of blanks, tabs and commas. Pure, so every UserFileReader parses the same way.
 */
export function parseUserFile(text: string): string[] {
  const names: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const hash = line.indexOf('#');
    const body = hash === -1 ? line : line.slice(0, hash);
    for (const name of body.split(/[ \t,]+/)) if (name !== '') names.push(name);
  }
  return names;
}
