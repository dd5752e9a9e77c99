import test from 'ava';
import type { PortOp, PortTest, UserList, UserListElement } from '../../../src/config/ast.ts';
import type { UserFileReader } from '../../../src/config/user-file.ts';
import { portMatches, usersMatch } from '../../../src/policy/match.ts';

const pos = { file: 't', line: 1, column: 1 };
const portTest = (op: PortOp, port: number): PortTest => ({ op, port, text: String(port), pos });
const list = (...elements: UserListElement[]): UserList => ({ text: '*=…', elements, pos });
const name = (n: string): UserListElement => ({ kind: 'name', name: n });
const file = (p: string): UserListElement => ({ kind: 'file', path: p });

test('the six port operators at their boundaries, and no test at all', (t) => {
  const cases: [PortOp, number, number, boolean][] = [
    ['eq', 23, 23, true],
    ['eq', 23, 24, false],
    ['neq', 25, 25, false],
    ['neq', 25, 26, true],
    ['lt', 1024, 1023, true],
    ['lt', 1024, 1024, false],
    ['gt', 1023, 1024, true],
    ['gt', 1023, 1023, false],
    ['le', 80, 80, true],
    ['le', 80, 81, false],
    ['ge', 8000, 8000, true],
    ['ge', 8000, 7999, false],
  ];
  for (const [op, port, dst, want] of cases)
    t.is(portMatches(portTest(op, port), dst), want, `${dst} ${op} ${port}`);
  t.true(portMatches(undefined, 0));
  t.true(portMatches(portTest('eq', 0), 0), 'port 0 is a valid port');
});

const reader: UserFileReader = (path) => {
  if (path === '/staff') return { ok: true, names: ['dave', 'erin'] };
  return { ok: false, error: 'No such file or directory' };
};

test('a user list matches names exactly and case-sensitively, and through user files', (t) => {
  const l = list(name('alice'), file('/staff'));
  t.true(usersMatch(l, 'alice', reader).matched);
  t.false(usersMatch(l, 'Alice', reader).matched);
  t.true(usersMatch(l, 'erin', reader).matched);
  t.false(usersMatch(l, 'zed', reader).matched);
});

test('no list, or an empty one, matches every user-id including the empty one', (t) => {
  t.true(usersMatch(undefined, '', reader).matched);
  t.true(usersMatch(list(), '', reader).matched);
});

test('an empty element matches only the empty user-id', (t) => {
  const l = list(name('a'), name(''));
  t.true(usersMatch(l, '', reader).matched);
  t.false(usersMatch(list(name('a')), '', reader).matched);
});

test('elements are examined left to right: a name before a missing file still matches', (t) => {
  const r = usersMatch(list(name('carol'), file('/missing')), 'carol', reader);
  t.deepEqual(r, { matched: true, errors: [] }, 'the file is never reached');
  const failed = usersMatch(list(file('/missing'), name('carol')), 'carol', reader);
  t.deepEqual(failed, {
    matched: false,
    errors: ['Unable to open userfile (/missing): No such file or directory'],
  });
});
