/**
 * RFC 1929 username/password sub-negotiation (spec i.2). Pure and incremental.
 *
 * Username and password are latin1 byte strings (one character per byte), like SOCKS 4 USERIDs,
 * so they round-trip and compare byte for byte. The password lives only in a Credentials value,
 * whose JSON and inspect forms redact it (STYLE habit 12).
 */
import { ProtocolError } from '../common/errors.ts';
import type { Decoded } from './decoded.ts';

/** VER of the sub-negotiation (not the SOCKS version). */
export const Rfc1929Version = 0x01;

export const Rfc1929Status = {
  /** credentials accepted; the SOCKS 5 request follows */
  Success: 0x00,
  /** any non-zero status is a failure; the server closes after sending it */
  Failure: 0x01,
} as const;

export const REDACTED = '[redacted]';

/** A username and a password that never shows up in logs, JSON or `util.inspect`. */
export class Credentials {
  readonly username: string;
  readonly #password: string;

  constructor(username: string, password: string) {
    this.username = username;
    this.#password = password;
  }

  /** The secret itself; call only where it is checked or sent on the wire. */
  revealPassword(): string {
    return this.#password;
  }

  toJSON(): { username: string; password: string } {
    return { username: this.username, password: REDACTED };
  }

  toString(): string {
    return `Credentials(${this.username}:${REDACTED})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** Client → server: VER | ULEN | UNAME | PLEN | PASSWD. Empty fields decode (the check then fails). */
export function decodeRfc1929Request(buf: Uint8Array): Decoded<Credentials> {
  if (buf.length >= 1 && buf[0] !== Rfc1929Version) {
    throw Object.assign(
      new ProtocolError(
        'E_1929_VERSION',
        `username/password sub-negotiation version is 0x${(buf[0] as number).toString(16).padStart(2, '0')}: expected 0x01`,
      ),
      { byte: buf[0] },
    );
  }
  if (buf.length < 2) return { need: 2 - buf.length };
  const ulen = buf[1] as number;
  if (buf.length < 3 + ulen) return { need: 3 + ulen - buf.length };
  const plen = buf[2 + ulen] as number;
  const end = 3 + ulen + plen;
  if (buf.length < end) return { need: end - buf.length };
  const text = (from: number, len: number) =>
    Buffer.from(buf.buffer, buf.byteOffset + from, len).toString('latin1');
  return { value: new Credentials(text(2, ulen), text(3 + ulen, plen)), consumed: end };
}

export function encodeRfc1929Request(credentials: Credentials): Buffer {
  const u = field('username', credentials.username);
  const p = field('password', credentials.revealPassword());
  return Buffer.concat([Buffer.from([Rfc1929Version, u.length]), u, Buffer.from([p.length]), p]);
}

export function encodeRfc1929Status(status: number): Buffer {
  if (!Number.isInteger(status) || status < 0 || status > 255) {
    throw new ProtocolError('E_1929_ENCODE', `status ${status} is not a byte`);
  }
  return Buffer.from([Rfc1929Version, status]);
}

/** Server → client: VER | STATUS. A status version other than 1 is accepted (only STATUS matters). */
export function decodeRfc1929Status(
  buf: Uint8Array,
): Decoded<{ readonly status: number; readonly ok: boolean }> {
  if (buf.length < 2) return { need: 2 - buf.length };
  const status = buf[1] as number;
  return { value: { status, ok: status === Rfc1929Status.Success }, consumed: 2 };
}

function field(name: string, s: string): Buffer {
  if ([...s].some((c) => c.charCodeAt(0) > 0xff) || s.length > 255) {
    // Never echo the value: it may be the password.
    throw new ProtocolError('E_1929_ENCODE', `${name} must be a latin1 byte string of at most 255 bytes`);
  }
  return Buffer.from(s, 'latin1');
}
