import { parsePasswdFile } from '../protocol/passwd-file.ts';

/**
 * Would a server with this passwd file (spec i.2) accept these RFC 1929 credentials? The same
 * verifier the server uses, for `sockslab check`: a wrong password, an unknown name or an
 * unusable file (the server would not start with it) accepts nothing.
 */
export function credentialsAccepted(passwdText: string, username: string, password: string): boolean {
  try {
    // The verifier takes latin1 byte strings, as the RFC 1929 decoder gives them.
    const latin1 = (v: string) => Buffer.from(v, 'utf8').toString('latin1');
    return parsePasswdFile(passwdText, 'passwd').verify(latin1(username), latin1(password));
  } catch {
    return false;
  }
}
