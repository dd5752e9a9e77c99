/**
 * The part of Mermaid the Markdown diagrams use, written so any name works: ids are encoded into
 * letters, digits and `_`, and label text has every character Mermaid might read as syntax
 * replaced by its `#code;` entity (Mermaid decodes those before it parses).
 */

/** `mermaidId('h', 'fw 1')` is `h_fw_20_1`; `_` itself is encoded, so the mapping is injective. */
export function mermaidId(kind: string, name: string): string {
  let out = '';
  for (const ch of name) out += /[A-Za-z0-9]/.test(ch) ? ch : `_${ch.codePointAt(0)!.toString(16)}_`;
  return `${kind}_${out}`;
}

/**
 * ASCII characters that are never syntax inside a quoted label or a message. Not `:`: before it
 * parses, Mermaid drops the last `;` of any line matching `style.*:\S*#.*;` (or `classDef…`), so
 * a name such as `style:x"` broke the `#34;` after it; with every `:` of a text as `#58;` the
 * only colons in a line are the diagram's own, each followed by a blank.
 */
const TEXT_SAFE = /[A-Za-z0-9 .,/@=+*()\-?!'→✓✗≠]/;

/**
 * Label or message text with syntax characters as entities; control characters (C0, DEL, C1)
 * become blanks, and lone surrogates and U+FFFE/U+FFFF (no character at all) become U+FFFD.
 */
export function mermaidText(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code < 32 || (code >= 127 && code < 160)) out += ' ';
    else if ((code >= 0xd800 && code <= 0xdfff) || code === 0xfffe || code === 0xffff) out += '\uFFFD';
    else if (TEXT_SAFE.test(ch) || code > 127) out += ch;
    else out += `#${code};`;
  }
  return out;
}

/** Lines of a label, each escaped, joined with Mermaid's line break. */
export function mermaidLines(lines: readonly string[]): string {
  return lines.map(mermaidText).join('<br/>');
}
