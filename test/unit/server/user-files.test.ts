import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { fsAsyncUserFileReader, fsUserFileReader } from '../../../src/server/user-files.ts';

// One reader for the server and the checkers (test_sockd_conf/test_socks_conf used to read user
// files as UTF-8 while the server read them as latin1, so a name outside ASCII matched in one and
// not the other): names are latin1 byte strings, as the SOCKS 4 USERID decoder gives them.

async function scratch(t: import('ava').ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'user-files-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('the sync and async readers read a name byte for byte, as the SOCKS 4 USERID decoder does', async (t) => {
  const dir = await scratch(t);
  const file = join(dir, 'users');
  // "ren\xe9" in latin1 and "jos\xc3\xa9" (UTF-8 bytes of josé): each byte is one character.
  await writeFile(
    file,
    Buffer.from([...Buffer.from('ren'), 0xe9, 0x0a, ...Buffer.from('jos'), 0xc3, 0xa9, 0x0a]),
  );
  const expected = ['ren\u00e9', 'jos\u00c3\u00a9'];
  t.deepEqual(fsUserFileReader(file), { ok: true, names: expected });
  t.deepEqual(await fsAsyncUserFileReader(file), { ok: true, names: expected });
});

test('a user file that cannot be read gives the strerror text the classic server printed', async (t) => {
  const dir = await scratch(t);
  for (const [path, text] of [
    [join(dir, 'missing'), 'No such file or directory'],
    [dir, 'Is a directory'],
    [join(dir, 'missing', 'deeper'), 'No such file or directory'],
  ] as const) {
    t.deepEqual(fsUserFileReader(path), { ok: false, error: text }, path);
    t.deepEqual(await fsAsyncUserFileReader(path), { ok: false, error: text }, path);
  }
});
