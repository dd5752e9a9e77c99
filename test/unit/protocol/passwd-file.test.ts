import { createHash } from 'node:crypto';
import test from 'ava';
import { InputError } from '../../../src/common/errors.ts';
import { parsePasswdFile } from '../../../src/protocol/passwd-file.ts';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const wireText = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

const text = [
  '# RFC 1929 users',
  '',
  'alice:{plain}wonder:land',
  `bob:{sha256}${sha('builder')}`,
  `Carol:{sha256}${sha('x').toUpperCase()}\r`,
  '  # indented comment',
  'josé:{plain}pässwörd',
].join('\n');

test('plain and sha256 secrets verify, names are exact and case-sensitive', (t) => {
  const v = parsePasswdFile(text, 'passwd');
  t.deepEqual(v.users, ['alice', 'bob', 'Carol', 'josé']);
  t.true(v.verify('alice', 'wonder:land'));
  t.false(v.verify('alice', 'wonder'));
  t.true(v.verify('bob', 'builder'));
  t.false(v.verify('bob', 'Builder'));
  t.true(v.verify('Carol', 'x'));
  t.false(v.verify('carol', 'x'));
  t.false(v.verify('mallory', 'wonder:land'));
});

test('non-ASCII names and passwords compare as their UTF-8 bytes on the wire', (t) => {
  const v = parsePasswdFile(text, 'passwd');
  t.true(v.verify(wireText('josé'), wireText('pässwörd')));
  t.false(v.verify('josé', 'pässwörd'), 'latin1-encoded bytes are different bytes');
});

for (const [name, body, code, where] of [
  ['a line without a colon', 'alice{plain}x', 'E_PASSWD_SYNTAX', 'users.pw:2:1'],
  ['an empty name', ':{plain}x', 'E_PASSWD_NAME', 'users.pw:2:1'],
  ['an unknown scheme', 'alice:{md5}abc', 'E_PASSWD_SCHEME', 'users.pw:2:7'],
  ['a missing scheme', 'alice:secret', 'E_PASSWD_SCHEME', 'users.pw:2:7'],
  ['a short digest', 'alice:{sha256}abcd', 'E_PASSWD_DIGEST', 'users.pw:2:15'],
  ['an empty plain password', 'alice:{plain}', 'E_PASSWD_SECRET', 'users.pw:2:14'],
  ['a duplicate name', 'ok:{plain}y', 'E_PASSWD_DUPLICATE', 'users.pw:2:1'],
] as const) {
  test(`${name} is an InputError ${code} naming file:line:col`, (t) => {
    const err = t.throws(() => parsePasswdFile(`ok:{plain}z\n${body}\n`, 'users.pw'), {
      instanceOf: InputError,
    });
    t.is(err?.code, code);
    t.true(err?.message.startsWith(`${where}: `), err?.message);
  });
}

test('error messages never quote the secret', (t) => {
  const err = t.throws(() => parsePasswdFile('alice:{sha256}topsecretvalue', 'p'), {
    instanceOf: InputError,
  });
  t.false(err?.message.includes('topsecret'));
});

test('an empty file verifies nobody', (t) => {
  const v = parsePasswdFile('# nobody yet\n', 'p');
  t.deepEqual(v.users, []);
  t.false(v.verify('', ''));
});
