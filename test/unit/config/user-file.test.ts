import test from 'ava';
import { parseUserFile } from '../../../src/config/user-file.ts';

test('user files: # comments, names split on any mix of blanks, tabs and commas, CRLF tolerated', (t) => {
  t.deepEqual(parseUserFile('# banned\nmallory, trudy\teve\n#oscar\r\n  grace,,henry # late\r\n'), [
    'mallory',
    'trudy',
    'eve',
    'grace',
    'henry',
  ]);
});
