import test from 'ava';
import { lexLine, lexText, physicalLines, splitFields } from '../../../src/config/lexer.ts';

const SERVER = { maxLength: 1023, specials: true };
const CLIENT = { maxLength: 1024, specials: false };

test('one CR before each LF is stripped; a final LF does not make an extra line', (t) => {
  t.deepEqual(physicalLines('a\r\nb\r\r\nc\n'), ['a', 'b\r', 'c']);
  t.deepEqual(physicalLines('a\nb'), ['a', 'b']);
  t.deepEqual(physicalLines(''), ['']);
  t.deepEqual(physicalLines('\n\n'), ['', '']);
});

test('fields are split on runs of blanks and tabs and keep 1-based columns', (t) => {
  t.deepEqual(splitFields(' a\t\tbb  c'), [
    { text: 'a', column: 2 },
    { text: 'bb', column: 5 },
    { text: 'c', column: 9 },
  ]);
});

test('everything after the first colon is the command, verbatim, # included', (t) => {
  const lexed = lexLine('permit 1.2.3.4 255.255.255.255 : echo "#1": x', 1, SERVER);
  t.is(lexed.kind, 'fields');
  if (lexed.kind !== 'fields') return;
  t.is(lexed.command, ' echo "#1": x');
  t.is(lexed.commandColumn, 32);
  t.deepEqual(
    lexed.fields.map((f) => f.text),
    ['permit', '1.2.3.4', '255.255.255.255'],
  );
});

test('a # before the first colon starts a comment and leaves no command', (t) => {
  const lexed = lexLine('permit 1.2.3.4 255.255.255.255 # : echo x', 1, SERVER);
  t.true(lexed.kind === 'fields' && lexed.command === undefined && lexed.fields.length === 3);
});

test('a colon right after a field ends the rule part without a blank', (t) => {
  const lexed = lexLine('deny ALL:cmd', 1, SERVER);
  t.true(lexed.kind === 'fields' && lexed.command === 'cmd' && lexed.fields.at(-1)?.text === 'ALL');
});

test('lines without fields are blank, even with a command after a colon', (t) => {
  for (const source of ['', '   \t', '# x', ': echo hi', '  #NO_IDENTD: x']) {
    t.is(lexLine(source, 1, SERVER).kind, 'empty', JSON.stringify(source));
  }
});

test('special lines only in column 1, exact case, and only where the file has them', (t) => {
  t.like(lexLine('#NO_IDENTD: run', 1, SERVER), { kind: 'special', special: 'NO_IDENTD', command: ' run' });
  t.like(lexLine('#BAD_ID:run', 1, SERVER), { kind: 'special', special: 'BAD_ID', command: 'run' });
  t.is(lexLine('#no_identd: run', 1, SERVER).kind, 'empty');
  t.is(lexLine('#NO_IDENTD run', 1, SERVER).kind, 'empty');
  t.is(lexLine('#NO_IDENTD: run', 1, CLIENT).kind, 'empty');
});

test('the length limit counts bytes without the terminator and applies before anything else', (t) => {
  t.is(lexLine('x'.repeat(1023), 1, SERVER).kind, 'fields');
  t.like(lexLine('x'.repeat(1024), 1, SERVER), { kind: 'too-long', length: 1024 });
  t.is(lexLine('x'.repeat(1024), 1, CLIENT).kind, 'fields');
  t.like(lexLine('é'.repeat(512), 1, SERVER), { kind: 'too-long', length: 1024 });
  t.is(lexLine(`#NO_IDENTD:${'x'.repeat(1013)}`, 1, SERVER).kind, 'too-long');
});

test('lexText numbers physical lines from 1', (t) => {
  t.deepEqual(
    lexText('a b\r\n\n# c\nd e', SERVER).map((l) => [l.line, l.kind]),
    [
      [1, 'fields'],
      [2, 'empty'],
      [3, 'empty'],
      [4, 'fields'],
    ],
  );
});
