/**
 * The one escaping of text that goes to a line-oriented log (the classic text log, syslog, the
 * operator's stderr). Request values reach those lines — USERIDs, identd answers, SOCKS 4A and
 * SOCKS 5 names, RFC 1929 user names — and a newline among them would start a forged line of its
 * own, an ESC would drive the terminal of whoever reads the log. So every C0 control, DEL and
 * C1 control is written as a visible escape, and `\` itself as `\\`, which keeps the escaping
 * reversible: `\x0a` in a log line is always the escape of a newline, never a user's four bytes.
 * JSON lines need none of this: JSON.stringify already escapes every control character.
 */

/** Characters that are never written raw: C0 controls, `\`, DEL and C1 controls. */
const Unsafe = /[\u0000-\u001f\\\u007f-\u009f]/;
const UnsafeAll = /[\u0000-\u001f\\\u007f-\u009f]/g;

const Named: Readonly<Record<string, string>> = {
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\\': '\\\\',
};

function escapeChar(c: string): string {
  return Named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/** `a\nb` → `a\\nb`, ESC → `\x1b`, NUL → `\x00`, `\` → `\\`; text without those is returned as is. */
export function escapeLogText(text: string): string {
  // The test first: almost every line is clean, and then no new string is made.
  return Unsafe.test(text) ? text.replace(UnsafeAll, escapeChar) : text;
}

/**
 * The notice a SIGHUP writes when some file could not be used and kept its previous rules. One
 * definition: the server writes it and the lab's host agents watch the log for it to tell a
 * replaced config that was rejected from one that took effect.
 */
export const ReloadKeptNotice = 'reload: files that could not be used kept their previous rules';
