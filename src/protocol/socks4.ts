/**
 * SOCKS 4 and 4A wire codec (spec b.1–b.3, b.5 reply forms). Pure and incremental: a decoder is
 * handed every byte received so far (from the start of the message) and answers
 * `{ need }` (that many more bytes at least), `{ value, consumed }`, or throws ProtocolError.
 * Bytes past `consumed` are early payload the caller must keep (b.1).
 *
 * Text encoding: USERID and 4A host names are decoded as latin1, one character per byte, so any
 * byte string round-trips exactly and string equality is byte equality (g.5 compares identd's
 * answer with USERID byte for byte). ASCII names read as themselves; a UTF-8 name shows up as
 * its bytes (`Buffer.from(s, 'latin1').toString('utf8')` gives the text back).
 */

import { ProtocolError } from '../common/errors.ts';
import { formatIPv4, parseIPv4 } from '../common/inet-address.ts';
import type { Decoded } from './decoded.ts';

/** VN of a request. */
export const Socks4Version = 4;
/** VN of every reply we send (b.2; Original sent 4 in 92/93 replies, see (j) 3). */
export const Socks4ReplyVersion = 0;

export const Socks4Command = {
  /** open a TCP connection to DSTIP:DSTPORT and relay (b.4) */
  Connect: 1,
  /** listen for one inbound connection from DSTIP, two replies (b.5) */
  Bind: 2,
} as const;
export type Socks4CommandCode = (typeof Socks4Command)[keyof typeof Socks4Command];
export type Socks4CommandName = 'connect' | 'bind';

export const Socks4Reply = {
  /** request granted: CONNECT established, or BIND first/second reply */
  Granted: 90,
  /** rejected or failed: no rule, deny, connect failure, unresolvable name, BIND peer mismatch */
  Rejected: 91,
  /** strict identd mode and the client's identd gave no usable answer (g.5) */
  NoIdentd: 92,
  /** identd answered, but with another user than the request named (g.5) */
  BadId: 93,
} as const;
export type Socks4ReplyCode = (typeof Socks4Reply)[keyof typeof Socks4Reply];

/**
 * The reply codes by the names scenarios, reports and traces use for them (one word each, so a
 * scenario can say `expect: { reply: no-identd }`).
 */
export const Socks4ReplyByName = {
  granted: Socks4Reply.Granted,
  rejected: Socks4Reply.Rejected,
  'no-identd': Socks4Reply.NoIdentd,
  'bad-id': Socks4Reply.BadId,
} as const satisfies Record<string, Socks4ReplyCode>;

export interface Socks4Limits {
  /** USERID bytes kept; the rest up to the NUL is read and discarded (b.1, Original NAMELEN 128). */
  readonly userIdKeep: number;
  /** A NUL must come within this many bytes after the header, so USERID is at most this − 1 bytes (j 20). */
  readonly userIdScan: number;
  /** A 4A host name's NUL must come within this many bytes, so the name is at most this − 1 (b.3). */
  readonly hostnameScan: number;
}

export const defaultSocks4Limits: Socks4Limits = { userIdKeep: 127, userIdScan: 1024, hostnameScan: 256 };

export interface Socks4Request {
  readonly version: 4;
  readonly command: Socks4CommandName;
  readonly port: number;
  /** DSTIP dotted; for 4A the received `0.0.0.x`. */
  readonly address: string;
  /** Present exactly when the request is 4A (DSTIP 0.0.0.1–0.0.0.255); may be '' (→ reply 91). */
  readonly hostname?: string;
  /** True for a 4A request whose host name is empty: the server replies 91 (b.3). */
  readonly emptyHostname: boolean;
  /** USERID as latin1 (see the file comment), at most `userIdKeep` bytes. */
  readonly user: string;
  /** USERID was longer than `userIdKeep` bytes and was cut. */
  readonly userTruncated: boolean;
}

export function isSocks4a(ip: Uint8Array, offset = 0): boolean {
  return ip[offset] === 0 && ip[offset + 1] === 0 && ip[offset + 2] === 0 && ip[offset + 3] !== 0;
}

function hex2(byte: number): string {
  // C printf `%2x`: lower-case, right-aligned in two columns (b.1).
  return byte.toString(16).padStart(2, ' ');
}

export function decodeSocks4Request(buf: Uint8Array, limits?: Partial<Socks4Limits>): Decoded<Socks4Request> {
  const lim = { ...defaultSocks4Limits, ...limits };
  if (buf.length < 1) return { need: 8 };
  const vn = buf[0] as number;
  if (vn !== Socks4Version) {
    throw Object.assign(new ProtocolError('E_S4_VERSION', `wrong version (0x${hex2(vn)}): expected 4`), {
      byte: vn,
    });
  }
  if (buf.length >= 2) {
    const cd = buf[1] as number;
    if (cd !== Socks4Command.Connect && cd !== Socks4Command.Bind) {
      throw Object.assign(
        new ProtocolError(
          'E_S4_COMMAND',
          `undefined command (0x${hex2(cd)}): expected 1 (CONNECT) or 2 (BIND)`,
        ),
        { byte: cd },
      );
    }
  }
  if (buf.length < 8) return { need: 8 - buf.length };
  const command: Socks4CommandName = buf[1] === Socks4Command.Bind ? 'bind' : 'connect';
  const port = ((buf[2] as number) << 8) | (buf[3] as number);
  const address = formatIPv4(buf, 4);

  const userEnd = indexOfNul(buf, 8, 8 + lim.userIdScan);
  if (userEnd < 0) {
    if (buf.length - 8 >= lim.userIdScan) {
      throw new ProtocolError(
        'E_S4_USERID_TOO_LONG',
        `USERID has no NUL within ${lim.userIdScan} bytes: closing without reply`,
      );
    }
    return { need: 1 };
  }
  const userLen = userEnd - 8;
  const kept = Math.min(userLen, lim.userIdKeep);
  const user = Buffer.from(buf.buffer, buf.byteOffset + 8, kept).toString('latin1');
  const base = { version: 4 as const, command, port, address, user, userTruncated: userLen > kept };

  if (!isSocks4a(buf, 4)) return { value: { ...base, emptyHostname: false }, consumed: userEnd + 1 };

  const hostStart = userEnd + 1;
  const hostEnd = indexOfNul(buf, hostStart, hostStart + lim.hostnameScan);
  if (hostEnd < 0) {
    if (buf.length - hostStart >= lim.hostnameScan) {
      throw new ProtocolError(
        'E_S4_HOSTNAME_TOO_LONG',
        `SOCKS 4A host name has no NUL within ${lim.hostnameScan} bytes: closing without reply`,
      );
    }
    return { need: 1 };
  }
  const hostname = Buffer.from(buf.buffer, buf.byteOffset + hostStart, hostEnd - hostStart).toString(
    'latin1',
  );
  return { value: { ...base, hostname, emptyHostname: hostname === '' }, consumed: hostEnd + 1 };
}

function indexOfNul(buf: Uint8Array, from: number, limit: number): number {
  const end = Math.min(buf.length, limit);
  for (let i = from; i < end; i++) if (buf[i] === 0) return i;
  return -1;
}

export interface Socks4RequestInit {
  readonly command: Socks4CommandName;
  readonly port: number;
  /** Dotted IPv4. With `hostname`, defaults to 0.0.0.1 and must be a 4A address when given. */
  readonly address?: string;
  /** Send in 4A form with this name (rsockd passes unresolvable names upstream, b.3). */
  readonly hostname?: string;
  /** latin1 byte string (what the decoder produced); no NUL. */
  readonly user: string;
}

/** Encode a request (plain or 4A), for the rsockd upstream client and tests. */
export function encodeSocks4Request(req: Socks4RequestInit): Buffer {
  checkPort(req.port);
  const ipText = req.address ?? (req.hostname !== undefined ? '0.0.0.1' : undefined);
  if (ipText === undefined) throw encodeError('address', 'a SOCKS 4 request needs an address or a hostname');
  const ip = parseIPv4(ipText);
  if (!ip) throw encodeError('address', `${JSON.stringify(ipText)} is not a dotted IPv4 address`);
  if (req.hostname !== undefined && !isSocks4a(ip)) {
    throw encodeError('address', `a 4A request needs DSTIP 0.0.0.1–0.0.0.255, got ${ipText}`);
  }
  const user = byteStringField('user', req.user);
  const host = req.hostname === undefined ? null : byteStringField('hostname', req.hostname);
  const head = Buffer.from([
    Socks4Version,
    req.command === 'bind' ? Socks4Command.Bind : Socks4Command.Connect,
    req.port >> 8,
    req.port & 0xff,
    ...ip,
  ]);
  const parts = [head, user, Buffer.of(0)];
  if (host) parts.push(host, Buffer.of(0));
  return Buffer.concat(parts);
}

export interface Socks4ReplyMessage {
  /** 0 from us; 4 from Original servers' 92/93 replies, accepted when decoding. */
  readonly version: number;
  readonly code: number;
  readonly port: number;
  readonly address: string;
}

/** Encode a reply: VN is always 0; address bytes 0 except in BIND replies (b.2, b.5). */
export function encodeSocks4Reply(code: number, port = 0, address = '0.0.0.0'): Buffer {
  if (!Number.isInteger(code) || code < 0 || code > 255)
    throw encodeError('code', `reply code ${code} is not a byte`);
  checkPort(port);
  const ip = parseIPv4(address);
  if (!ip) throw encodeError('address', `${JSON.stringify(address)} is not a dotted IPv4 address`);
  return Buffer.from([Socks4ReplyVersion, code, port >> 8, port & 0xff, ...ip]);
}

/** Decode an 8-byte reply incrementally (the rsockd upstream client and the probe read these). */
export function decodeSocks4Reply(buf: Uint8Array): Decoded<Socks4ReplyMessage> {
  if (buf.length >= 1) {
    const vn = buf[0] as number;
    if (vn !== Socks4ReplyVersion && vn !== Socks4Version) {
      throw Object.assign(
        new ProtocolError('E_S4_REPLY_VERSION', `SOCKS 4 reply has version 0x${hex2(vn)}: expected 0 (or 4)`),
        { byte: vn },
      );
    }
  }
  if (buf.length < 8) return { need: 8 - buf.length };
  return {
    value: {
      version: buf[0] as number,
      code: buf[1] as number,
      port: ((buf[2] as number) << 8) | (buf[3] as number),
      address: formatIPv4(buf, 4),
    },
    consumed: 8,
  };
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw encodeError('port', `port ${port} is not 0..65535`);
}

function byteStringField(field: string, s: string): Buffer {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c > 0xff) {
      throw encodeError(
        field,
        `${field} must be a latin1 byte string without NUL (character ${i} is U+${c.toString(16).padStart(4, '0')})`,
      );
    }
  }
  return Buffer.from(s, 'latin1');
}

function encodeError(field: string, message: string): ProtocolError {
  return Object.assign(new ProtocolError('E_S4_ENCODE', `cannot encode SOCKS 4 ${field}: ${message}`), {
    field,
  });
}
