/**
 * The `--passwd` credentials file for RFC 1929 (spec i.2): one `name:secret` per line, `#` starts
 * a comment line, blank lines are ignored, a CR before LF is dropped. `secret` is
 * `{plain}text` or `{sha256}<64 hex digits>` (the SHA-256 of the password's UTF-8 bytes).
 * Names are compared exactly; the rest of the line after `{plain}` is the password, verbatim.
 *
 * The verifier takes the username and password as the RFC 1929 decoder gives them (latin1 byte
 * strings) and compares bytes with the file's UTF-8 text, in constant time with respect to the
 * password (both sides are hashed, and an unknown name costs the same as a wrong password).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { InputError } from '../common/errors.ts';

export interface PasswdVerifier {
  readonly file: string;
  /** Names in file order (UTF-8 text as written). */
  readonly users: readonly string[];
  /** `name` and `password` are latin1 byte strings, as decodeRfc1929Request produces them. */
  verify(name: string, password: string): boolean;
}

const schemes = ['plain', 'sha256'] as const;

export function parsePasswdFile(text: string, file: string): PasswdVerifier {
  const digests = new Map<string, Buffer>();
  const users: string[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const lineNo = i + 1;
    const where = (col: number) => `${file}:${lineNo}:${col}`;
    const bad = (code: string, col: number, what: string) =>
      Object.assign(new InputError(code, `${where(col)}: ${what}`), { file, line: lineNo, column: col });
    if (/^[ \t]*(#|$)/.test(line)) return;
    const colon = line.indexOf(':');
    if (colon < 0)
      throw bad('E_PASSWD_SYNTAX', 1, 'expected `name:{plain}password` or `name:{sha256}hex`, found no `:`');
    const name = line.slice(0, colon);
    if (name === '') throw bad('E_PASSWD_NAME', 1, 'empty user name before `:`');
    const nameKey = Buffer.from(name, 'utf8').toString('latin1');
    if (nameKey.length > 255)
      throw bad('E_PASSWD_NAME', 1, 'user name longer than 255 bytes (RFC 1929 limit)');
    if (digests.has(nameKey))
      throw bad('E_PASSWD_DUPLICATE', 1, `user ${JSON.stringify(name)} is listed twice`);
    const secret = line.slice(colon + 1);
    const secretCol = colon + 2;
    const m = /^\{([^}]*)\}/.exec(secret);
    const scheme = m?.[1];
    if (!m || !(schemes as readonly string[]).includes(scheme ?? '')) {
      throw bad(
        'E_PASSWD_SCHEME',
        secretCol,
        `unknown secret scheme ${m ? JSON.stringify(`{${scheme}}`) : '(none)'}; known schemes: {plain}, {sha256}`,
      );
    }
    const body = secret.slice(m[0].length);
    const bodyCol = secretCol + m[0].length;
    let digest: Buffer;
    if (scheme === 'plain') {
      if (body === '') throw bad('E_PASSWD_SECRET', bodyCol, 'empty password after {plain}');
      if (Buffer.byteLength(body, 'utf8') > 255) {
        throw bad('E_PASSWD_SECRET', bodyCol, 'password longer than 255 bytes (RFC 1929 limit)');
      }
      digest = sha256(Buffer.from(body, 'utf8'));
    } else {
      if (!/^[0-9a-fA-F]{64}$/.test(body)) {
        throw bad('E_PASSWD_DIGEST', bodyCol, 'a {sha256} secret must be exactly 64 hex digits');
      }
      digest = Buffer.from(body, 'hex');
    }
    digests.set(nameKey, digest);
    users.push(name);
  });
  // Compared against when the name is unknown, so timing does not reveal which names exist.
  const decoy = sha256(Buffer.from('sockslab: no such user'));
  return {
    file,
    users,
    verify(name, password) {
      const expected = digests.get(name);
      const got = sha256(Buffer.from(password, 'latin1'));
      const same = timingSafeEqual(got, expected ?? decoy);
      return same && expected !== undefined;
    },
  };
}

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}
