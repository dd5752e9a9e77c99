/**
 * The small part of the DOT language the diagrams use, written so that any host, network or
 * file name can appear: identifiers are encoded into a safe alphabet and then quoted, and every
 * visible text goes into an HTML-like label (`<...>`), where Graphviz gives no character a
 * second meaning (no `\N`, `\l` or `\"` escapes to trip over).
 */

/** Characters kept as they are in an identifier; everything else becomes `~hex;`. */
const ID_SAFE = /[A-Za-z0-9_.-]/;

/**
 * A stable, injective identifier: `dotId('h', 'fw "1"')` is `"h:fw~20;~22;1~22;"`. `~` is not in
 * the safe set, so it is itself encoded and two different names never meet.
 */
export function dotId(kind: string, name: string): string {
  let out = '';
  for (const ch of name) out += ID_SAFE.test(ch) ? ch : `~${ch.codePointAt(0)!.toString(16)};`;
  return `"${kind}:${out}"`;
}

/** Cluster subgraphs are recognised by the `cluster` prefix of their identifier. */
export function clusterId(name: string): string {
  return dotId('cluster_net', name);
}

/**
 * Any text made fit for Graphviz, which reads no NUL inside a quoted string and copies text
 * as it is into SVG: control characters (C0, DEL, C1) become blanks, and what XML cannot hold
 * (lone surrogates, U+FFFE/U+FFFF) becomes U+FFFD. Every visible or quoted string goes through
 * here, so a garbage wire answer (an identd reply of NUL and 0xFF bytes) stays plain text.
 */
export function dotText(text: string): string {
  return text
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    .replace(/[^\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD');
}

/** Text for inside an HTML-like label: `dotText`, then markup characters escaped. */
export function html(text: string): string {
  return dotText(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** Pieces of HTML-like label markup; the argument text must already be escaped with `html`. */
export const markup = {
  bold: (escaped: string) => `<B>${escaped}</B>`,
  small: (escaped: string, colour?: string) =>
    colour === undefined
      ? `<FONT POINT-SIZE="10">${escaped}</FONT>`
      : `<FONT POINT-SIZE="10" COLOR="${colour}">${escaped}</FONT>`,
  lines: (escapedLines: readonly string[]) => escapedLines.join('<BR/>'),
};

/** An attribute value: either plain text (quoted) or finished label markup (`<...>`). */
export type AttrValue = string | number | boolean | { readonly html: string };

/** `[a="1", label=<...>]`, keys in the order given (callers keep that order fixed). */
export function attrs(list: Readonly<Record<string, AttrValue | undefined>>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(list)) {
    if (value === undefined) continue;
    if (typeof value === 'object') parts.push(`${key}=<${value.html}>`);
    else parts.push(`${key}=${quote(String(value))}`);
  }
  return parts.length === 0 ? '' : ` [${parts.join(', ')}]`;
}

/**
 * A quoted plain attribute value. Values here are our own colours, shapes and encoded ids, but
 * quotes and backslashes are still neutralised so a stray one cannot end the string early.
 */
function quote(value: string): string {
  return `"${dotText(value).replace(/\\/g, '/').replace(/"/g, "'")}"`;
}

/** Indented statement lines inside braces. */
export function block(head: string, body: readonly string[], indent = '  '): string[] {
  return [`${head} {`, ...body.map((line) => `${indent}${line}`), '}'];
}

/** Breaks text at blanks into lines of at most about `width` characters (long words stay whole). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (current !== '' && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else current = current === '' ? word : `${current} ${word}`;
  }
  if (current !== '') lines.push(current);
  return lines;
}
