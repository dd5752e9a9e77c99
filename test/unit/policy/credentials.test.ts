import test from 'ava';
import { credentialsAccepted } from '../../../src/policy/credentials.ts';

const passwd = 'x:{plain}x-secret\ny:{sha256}' + 'a'.repeat(64) + '\n';

test('credentials are accepted only as the server’s passwd file verifies them', (t) => {
  t.true(credentialsAccepted(passwd, 'x', 'x-secret'));
  t.false(credentialsAccepted(passwd, 'x', 'guessed'), 'a wrong password');
  t.false(credentialsAccepted(passwd, 'mallory', 'x-secret'), 'an unknown name, even with a known password');
  t.false(credentialsAccepted(passwd, 'y', 'x-secret'), 'a borrowed password under the other name');
  t.false(credentialsAccepted('not a passwd line\n', 'x', 'x-secret'), 'an unusable file accepts nothing');
});
