/**
 * c.10 shell-command expansion. Two renderings of one expansion:
 *
 * - `text`: the spec's expansion (literal template + sanitised values). Logs, `Command:` lines of
 *   test_sockd_conf and events show this.
 * - `runnable`: what goes to `/bin/sh -c`. Sanitising leaves exactly one character with meaning
 *   to sh in a value: the backslash. A value ending in `\` placed before the closing quote of the
 *   administrator's template (`"%u"`) would escape that quote and let the rest of the line be
 *   re-parsed — an injection. So a small scanner follows the template's quote state
 *   (unquoted / '…' / "…" / $'…' / comment) and each value is written for the state it lands in:
 *     unquoted, "…", $'…', comment: every `\` doubled, which sh reads back as one literal `\`;
 *     '…': a backslash-free value as is; otherwise the quote is closed, the value written in
 *       double quotes with `\` doubled, and the quote reopened: `'"a\\b"'`.
 *   After an odd run of template backslashes (`\%u`) the value's first character is written
 *   alone, because the template's backslash escapes it (see encodeValue).
 *   Security does not depend on the scanner being right: a value with doubled backslashes has no
 *   unpaired `\` in any state, and the `'"…"'` form restores whatever state it was placed in
 *   (in "…" its `"` pair re-enters the string; unquoted, its `'` pair is an empty-ish literal).
 *   A mis-scan (e.g. quotes nested inside `$(…)`) can only change how backslashes print.
 */

export interface CommandContext {
  /** %A — SRCHOST: client host name, or its dotted address. */
  readonly srcHost: string;
  /** %a — client IP address, dotted. */
  readonly srcAddr: string;
  /** %c */
  readonly command: 'connect' | 'bind' | 'udp';
  /** %p — pid of the process handling the request. */
  readonly pid: number;
  /** %S — DSTSERV: service name of the destination port, or the number. */
  readonly dstServ: string;
  /** %s — destination port, decimal. */
  readonly dstPort: number;
  /** %U — identd user, or `unknown`. */
  readonly realUser: string;
  /** %u — user-id claimed by the client. */
  readonly user: string;
  /** %Z — DSTHOST. */
  readonly dstHost: string;
  /** %z — destination address, dotted. */
  readonly dstAddr: string;
}

export type ExpandedCommand =
  | { readonly ok: true; readonly text: string; readonly runnable: string }
  | {
      readonly ok: false;
      readonly reason: 'too-long' | 'no-alnum';
      readonly text: string;
      readonly log: string;
    };

/** c.10: the expanded command must be shorter than this many bytes. */
export const MaxCommandBytes = 8191;

/**
 * c.10 sanitising, then the hook-value rules of this implementation:
 * 1. (spec) anything but letters, digits and `! @ % - _ = + \ : , . /` becomes `_`;
 * 2. a `-` as the value's first character becomes `_`, so a value is never an option
 *    (`--output=x` → `_-output=x`) of the program the administrator's template calls;
 * 3. a `.` as the value's first character or right after a `/` becomes `_`, so no path segment
 *    of a value is `.` or `..` (`../../x` → `_./_./x`), nor joins a template's `.` into one:
 *    `> /var/log/by-user/%u` stays inside by-user/ whatever the client claims.
 * Every other character the spec allows is kept, so ordinary names expand as before.
 */
export function sanitiseValue(value: string): string {
  return value.replace(/[^A-Za-z0-9!@%\-_=+\\:,./]/g, '_').replace(/^[-.]|(?<=\/)\./g, '_');
}

function valueFor(ctx: CommandContext, code: string): string | undefined {
  switch (code) {
    case 'A':
      return ctx.srcHost;
    case 'a':
      return ctx.srcAddr;
    case 'c':
      return ctx.command;
    case 'p':
      return String(ctx.pid);
    case 'S':
      return ctx.dstServ;
    case 's':
      return String(ctx.dstPort);
    case 'U':
      return ctx.realUser;
    case 'u':
      return ctx.user;
    case 'Z':
      return ctx.dstHost;
    case 'z':
      return ctx.dstAddr;
    default:
      return undefined;
  }
}

type QuoteState = 'unquoted' | 'single' | 'double' | 'dollar-single' | 'comment';

/** Tracks sh's quoting as literal template characters go by. */
class QuoteScanner {
  state: QuoteState = 'unquoted';
  private escaped = false;
  /** true when the next unquoted character starts a word (for `#` comments). */
  private wordStart = true;
  private prev = '';

  feedLiteral(ch: string): void {
    const prev = this.prev;
    this.prev = ch;
    if (this.escaped) {
      this.escaped = false;
      this.wordStart = false;
      return;
    }
    switch (this.state) {
      case 'comment':
        return;
      case 'single':
        if (ch === "'") this.state = 'unquoted';
        return;
      case 'dollar-single':
        if (ch === '\\') this.escaped = true;
        else if (ch === "'") this.state = 'unquoted';
        return;
      case 'double':
        if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.state = 'unquoted';
        return;
      case 'unquoted':
        if (ch === '\\') this.escaped = true;
        else if (ch === "'") this.state = prev === '$' ? 'dollar-single' : 'single';
        else if (ch === '"') this.state = 'double';
        else if (ch === '#' && this.wordStart) this.state = 'comment';
        this.wordStart = /[ \t;&|()<>]/.test(ch);
        return;
    }
  }

  /** A substituted value is never blank-led and never ends an escape of its own making. */
  feedValue(value: string): void {
    if (value === '') return;
    this.escaped = false;
    this.wordStart = false;
    this.prev = value[value.length - 1]!;
  }
}

function encodeForShell(value: string, state: QuoteState): string {
  if (!value.includes('\\')) return value;
  const doubled = value.replace(/\\/g, '\\\\');
  return state === 'single' ? `'"${doubled}"'` : doubled;
}

function trailingBackslashes(text: string): number {
  let n = 0;
  while (n < text.length && text[text.length - 1 - n] === '\\') n++;
  return n;
}

/**
 * The value after an odd run of template backslashes (`\%u`): outside '…' the template's last
 * backslash escapes whatever comes next, so the value's first character is written alone (a
 * `\` there pairs with it into one literal backslash; any other allowed character is inert),
 * and only the rest is encoded. Inside '…' nothing is escaped and this is still exact.
 */
function encodeValue(value: string, state: QuoteState, escapePending: boolean): string {
  if (!escapePending || value === '') return encodeForShell(value, state);
  return value[0] + encodeForShell(value.slice(1), state);
}

/**
 * Expands a c.10 / c.11 command template. Leading blanks of the stored text (the blank after
 * the line's `:`) are not part of the command.
 */
export function expandCommand(template: string, ctx: CommandContext): ExpandedCommand {
  const source = template.replace(/^[ \t]+/, '');
  const scanner = new QuoteScanner();
  let text = '';
  let runnable = '';
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch !== '%') {
      text += ch;
      runnable += ch;
      scanner.feedLiteral(ch);
      continue;
    }
    const code = source[i + 1];
    i++;
    if (code === undefined) break; // `%` at the very end: nothing
    if (code === '%') {
      text += '%';
      runnable += '%';
      scanner.feedLiteral('%');
      continue;
    }
    const raw = valueFor(ctx, code);
    if (raw === undefined) continue; // unknown `%x`: both characters dropped
    const value = sanitiseValue(raw);
    text += value;
    runnable += encodeValue(value, scanner.state, trailingBackslashes(runnable) % 2 === 1);
    scanner.feedValue(value);
  }
  if (new TextEncoder().encode(text).length >= MaxCommandBytes) {
    return { ok: false, reason: 'too-long', text, log: `shell command too long: ${text.slice(0, 30)}...` };
  }
  if (!/[A-Za-z0-9]/.test(text)) {
    return {
      ok: false,
      reason: 'no-alnum',
      text,
      log: `error -- shell command "${text}" contains no alphanumeric characters.`,
    };
  }
  return { ok: true, text, runnable };
}
