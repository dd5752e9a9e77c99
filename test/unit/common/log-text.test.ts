import test from 'ava';
import fc from 'fast-check';
import { escapeLogText } from '../../../src/common/log-text.ts';

// One escaping for every line-oriented log sink: control characters become visible escapes and
// the result reads back unambiguously.

/** The inverse, for the round-trip property (the tests' own, independent reading). */
function readBack(text: string): string {
  return text.replace(/\\(n|r|t|\\|x[0-9a-f]{2})/g, (_, e: string) =>
    e === 'n'
      ? '\n'
      : e === 'r'
        ? '\r'
        : e === 't'
          ? '\t'
          : e === '\\'
            ? '\\'
            : String.fromCharCode(Number.parseInt(e.slice(1), 16)),
  );
}

test('newline, CR, TAB, ESC, NUL, DEL and C1 controls become visible escapes; a backslash is doubled', (t) => {
  t.is(escapeLogText('a\nb'), 'a\\nb');
  t.is(escapeLogText('a\rb\tc'), 'a\\rb\\tc');
  t.is(escapeLogText('\x1b[31mred'), '\\x1b[31mred');
  t.is(escapeLogText('nul\x00'), 'nul\\x00');
  t.is(escapeLogText('del\x7f csi\x9b'), 'del\\x7f csi\\x9b');
  t.is(escapeLogText('C:\\dir'), 'C:\\\\dir');
  t.is(escapeLogText('plain text, é and ü stay'), 'plain text, é and ü stay');
});

test('an escaped text has no control character and reads back to the original', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.oneof(
            fc.constantFrom('\n', '\r', '\x1b', '\x00', '\\', 'x', '\x9b', '\x7f'),
            fc.string({ maxLength: 1, unit: 'binary' }),
          ),
        }),
        (s) => {
          const e = escapeLogText(s);
          return !/[\u0000-\u001f\u007f-\u009f]/.test(e) && readBack(e) === s;
        },
      ),
    ),
  );
});
