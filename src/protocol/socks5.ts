/**
 * SOCKS 5 wire codec (RFC 1928; spec i.1, i.3): method negotiation, requests, replies and the
 * UDP ASSOCIATE datagram header. Pure and incremental like the SOCKS 4 codec: decoders take every
 * byte received so far and answer `{ need }`, `{ value, consumed }`, or throw ProtocolError.
 *
 * Domain names are latin1 byte strings (one character per byte), as SOCKS 4A names are.
 *
 * Errors a server turns into replies (one table in the server maps them):
 * E_S5_COMMAND → REP 0x07, E_S5_ATYP → REP 0x08; every other code → close without reply.
 */

import { ProtocolError } from '../common/errors.ts';
import { type AddressKind, formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../common/inet-address.ts';
import type { Decoded } from './decoded.ts';
import { Socks4Reply, type Socks4ReplyCode } from './socks4.ts';

/** VER of every SOCKS 5 message except the RFC 1929 sub-negotiation. */
export const Socks5Version = 5;

export const Socks5Method = {
  /** no authentication required */
  NoAuth: 0x00,
  /** GSSAPI (RFC 1961); recognised, never chosen (i.1) */
  Gssapi: 0x01,
  /** username/password sub-negotiation (RFC 1929, i.2) */
  UserPass: 0x02,
  /** none of the offered methods is acceptable; the server closes after sending it */
  NoAcceptable: 0xff,
} as const;

export const Socks5Command = {
  /** TCP connect to DST and relay */
  Connect: 0x01,
  /** listen for one inbound TCP connection, two replies */
  Bind: 0x02,
  /** relay UDP datagrams (optional, i.3) */
  UdpAssociate: 0x03,
} as const;
export type Socks5CommandName = 'connect' | 'bind' | 'udp';

export const Socks5AddressType = {
  /** 4 bytes */
  IPv4: 0x01,
  /** 1 length byte, then that many bytes of name */
  Domain: 0x03,
  /** 16 bytes */
  IPv6: 0x04,
} as const;

export const Socks5Reply = {
  /** succeeded */
  Succeeded: 0x00,
  /** general failure: socket errors, configuration unusable */
  GeneralFailure: 0x01,
  /** not allowed by ruleset: no match, deny, identd 92/93 outcomes, routing deny */
  NotAllowed: 0x02,
  /** network unreachable */
  NetworkUnreachable: 0x03,
  /** host unreachable; also: name did not resolve, establishment timer expired */
  HostUnreachable: 0x04,
  /** connection refused by the destination */
  ConnectionRefused: 0x05,
  /** TTL expired (RFC 1928; not produced by this server) */
  TtlExpired: 0x06,
  /** command not supported (UDP ASSOCIATE unless implemented) */
  CommandNotSupported: 0x07,
  /** address type not supported (IPv6 unless implemented) */
  AddressTypeNotSupported: 0x08,
} as const;
export type Socks5ReplyCode = (typeof Socks5Reply)[keyof typeof Socks5Reply];

/** The REP values by their RFC 1928 names, written as scenarios, reports and traces write them. */
export const Socks5ReplyByName = {
  succeeded: Socks5Reply.Succeeded,
  'general-failure': Socks5Reply.GeneralFailure,
  'not-allowed': Socks5Reply.NotAllowed,
  'network-unreachable': Socks5Reply.NetworkUnreachable,
  'host-unreachable': Socks5Reply.HostUnreachable,
  'connection-refused': Socks5Reply.ConnectionRefused,
  'ttl-expired': Socks5Reply.TtlExpired,
  'command-not-supported': Socks5Reply.CommandNotSupported,
  'address-type-not-supported': Socks5Reply.AddressTypeNotSupported,
} as const satisfies Record<string, Socks5ReplyCode>;

/**
 * The SOCKS 5 REP that stands for a SOCKS 4 result when nothing finer is known (i.3): granted is
 * succeeded, and every refusal, the identd ones (92, 93) included, is "not allowed by ruleset".
 * Failures with a finer cause (errno, unresolved name, …) get their own REP from policy's table.
 */
export const Socks5ReplyOfSocks4: Readonly<Record<Socks4ReplyCode, Socks5ReplyCode>> = {
  [Socks4Reply.Granted]: Socks5Reply.Succeeded,
  [Socks4Reply.Rejected]: Socks5Reply.NotAllowed,
  [Socks4Reply.NoIdentd]: Socks5Reply.NotAllowed,
  [Socks4Reply.BadId]: Socks5Reply.NotAllowed,
};

export interface Socks5Address {
  readonly addressType: AddressKind;
  /** Dotted IPv4, RFC 5952 IPv6, or the domain name as sent (latin1). */
  readonly address: string;
  readonly port: number;
}

function fail(code: string, message: string, byte?: number): ProtocolError {
  const err = new ProtocolError(code, message);
  return byte === undefined ? err : Object.assign(err, { byte });
}

function hex(b: number): string {
  return `0x${b.toString(16).padStart(2, '0')}`;
}

function checkVersion(buf: Uint8Array, what: string): void {
  if (buf.length >= 1 && buf[0] !== Socks5Version) {
    throw fail('E_S5_VERSION', `SOCKS 5 ${what} has version ${hex(buf[0] as number)}: expected 0x05`, buf[0]);
  }
}

// ---------------------------------------------------------------- method negotiation (i.1)

export interface Socks5Greeting {
  readonly version: 5;
  /** Offered methods in the client's order. Empty when NMETHODS was 0 (the server answers 0xFF). */
  readonly methods: readonly number[];
}

export function decodeSocks5Greeting(buf: Uint8Array): Decoded<Socks5Greeting> {
  checkVersion(buf, 'greeting');
  if (buf.length < 2) return { need: 2 - buf.length };
  const n = buf[1] as number;
  if (buf.length < 2 + n) return { need: 2 + n - buf.length };
  const methods: number[] = [];
  for (let i = 2; i < 2 + n; i++) methods.push(buf[i] as number);
  return { value: { version: 5, methods }, consumed: 2 + n };
}

export function encodeSocks5Greeting(methods: readonly number[]): Buffer {
  if (methods.length < 1 || methods.length > 255) throw encodeError('methods', 'offer 1..255 methods');
  return Buffer.from([Socks5Version, methods.length, ...methods.map((m) => byte('method', m))]);
}

/** The server's choice (0xFF = none acceptable). */
export function encodeSocks5MethodChoice(method: number): Buffer {
  const out = Buffer.allocUnsafe(2);
  out[0] = Socks5Version;
  out[1] = byte('method', method);
  return out;
}

export function decodeSocks5MethodChoice(buf: Uint8Array): Decoded<{ readonly method: number }> {
  checkVersion(buf, 'method choice');
  if (buf.length < 2) return { need: 2 - buf.length };
  return { value: { method: buf[1] as number }, consumed: 2 };
}

/**
 * The server's method choice (i.1): username/password when a credentials file is configured and
 * the client offers it; else no-auth when offered and authentication is not required; else 0xFF.
 */
export function chooseSocks5Method(
  offered: readonly number[],
  policy: { readonly passwd: boolean; readonly authRequired: boolean },
): number {
  if (policy.passwd && offered.includes(Socks5Method.UserPass)) return Socks5Method.UserPass;
  if (!policy.authRequired && offered.includes(Socks5Method.NoAuth)) return Socks5Method.NoAuth;
  return Socks5Method.NoAcceptable;
}

// ---------------------------------------------------------------- addresses

/** Decode ATYP | ADDR | PORT starting at `at`; null = more bytes needed (returned as need). */
function decodeAddress(
  buf: Uint8Array,
  at: number,
): { readonly need: number } | { readonly value: Socks5Address; readonly end: number } {
  if (buf.length < at + 1) return { need: at + 1 - buf.length };
  const atyp = buf[at] as number;
  let addrLen: number;
  let addrStart = at + 1;
  if (atyp === Socks5AddressType.IPv4) addrLen = 4;
  else if (atyp === Socks5AddressType.IPv6) addrLen = 16;
  else if (atyp === Socks5AddressType.Domain) {
    if (buf.length < at + 2) return { need: at + 2 - buf.length };
    addrLen = buf[at + 1] as number;
    addrStart = at + 2;
  } else {
    throw fail('E_S5_ATYP', `address type ${hex(atyp)} is not supported: expected 0x01, 0x03 or 0x04`, atyp);
  }
  const end = addrStart + addrLen + 2;
  if (buf.length < end) return { need: end - buf.length };
  const port = ((buf[end - 2] as number) << 8) | (buf[end - 1] as number);
  if (atyp === Socks5AddressType.IPv4) {
    return { value: { addressType: 'ipv4', address: formatIPv4(buf, addrStart), port }, end };
  }
  if (atyp === Socks5AddressType.IPv6) {
    return { value: { addressType: 'ipv6', address: formatIPv6(buf, addrStart), port }, end };
  }
  const name = Buffer.from(buf.buffer, buf.byteOffset + addrStart, addrLen).toString('latin1');
  return { value: { addressType: 'domain', address: name, port }, end };
}

/** ATYP | ADDR | PORT for an address text: dotted → IPv4, contains `:` → IPv6, else a domain name. */
export function encodeSocks5Address(address: string, port: number): Buffer {
  return withAddress(NoHead, address, port);
}

const NoHead: readonly number[] = [];

/** `head`, then ATYP | ADDR | PORT, built in one buffer (requests and replies are sent per session). */
function withAddress(head: readonly number[], address: string, port: number): Buffer {
  checkPort(port);
  let at = head.length;
  let out: Buffer;
  const ipv4 = parseIPv4(address);
  if (ipv4) {
    out = Buffer.allocUnsafe(at + 7);
    out[at] = Socks5AddressType.IPv4;
    out.set(ipv4, at + 1);
    at += 5;
  } else if (address.includes(':')) {
    const ipv6 = parseIPv6(address);
    if (!ipv6) throw encodeError('address', `${JSON.stringify(address)} is not an IPv6 address`);
    out = Buffer.allocUnsafe(at + 19);
    out[at] = Socks5AddressType.IPv6;
    out.set(ipv6, at + 1);
    at += 17;
  } else {
    let latin1 = true;
    for (let i = 0; i < address.length; i++) if (address.charCodeAt(i) > 0xff) latin1 = false;
    if (address.length > 255 || !latin1) {
      throw encodeError('address', 'a domain name is a latin1 byte string of at most 255 bytes');
    }
    out = Buffer.allocUnsafe(at + 4 + address.length);
    out[at] = Socks5AddressType.Domain;
    out[at + 1] = address.length;
    out.write(address, at + 2, 'latin1');
    at += 2 + address.length;
  }
  for (let i = 0; i < head.length; i++) out[i] = head[i] as number;
  out[at] = port >> 8;
  out[at + 1] = port & 0xff;
  return out;
}

// ---------------------------------------------------------------- requests and replies (i.3)

export interface Socks5Request extends Socks5Address {
  readonly version: 5;
  readonly command: Socks5CommandName;
}

export function decodeSocks5Request(buf: Uint8Array): Decoded<Socks5Request> {
  checkVersion(buf, 'request');
  if (buf.length >= 2) {
    const cmd = buf[1] as number;
    if (cmd !== Socks5Command.Connect && cmd !== Socks5Command.Bind && cmd !== Socks5Command.UdpAssociate) {
      throw fail('E_S5_COMMAND', `command ${hex(cmd)} is not supported: expected 0x01, 0x02 or 0x03`, cmd);
    }
  }
  if (buf.length >= 3 && buf[2] !== 0) {
    throw fail('E_S5_RESERVED', `reserved byte is ${hex(buf[2] as number)}: expected 0x00`, buf[2]);
  }
  if (buf.length < 3) return { need: 3 - buf.length };
  const addr = decodeAddress(buf, 3);
  if ('need' in addr) return addr;
  const command: Socks5CommandName = buf[1] === 1 ? 'connect' : buf[1] === 2 ? 'bind' : 'udp';
  // Field by field, not a spread: every request passes here, and a spread copies generically.
  const { addressType, address, port } = addr.value;
  return { value: { version: 5, command, addressType, address, port }, consumed: addr.end };
}

export interface Socks5RequestInit {
  readonly command: Socks5CommandName;
  readonly address: string;
  readonly port: number;
}

export function encodeSocks5Request(req: Socks5RequestInit): Buffer {
  const cmd =
    req.command === 'connect'
      ? Socks5Command.Connect
      : req.command === 'bind'
        ? Socks5Command.Bind
        : Socks5Command.UdpAssociate;
  return withAddress([Socks5Version, cmd, 0], req.address, req.port);
}

export interface Socks5ReplyMessage extends Socks5Address {
  readonly version: 5;
  readonly code: number;
}

/** VER | REP | RSV | bound address of any type (default 0.0.0.0:0). */
export function encodeSocks5Reply(
  code: number,
  bound: { address: string; port: number } = { address: '0.0.0.0', port: 0 },
): Buffer {
  return withAddress([Socks5Version, byte('code', code), 0], bound.address, bound.port);
}

export function decodeSocks5Reply(buf: Uint8Array): Decoded<Socks5ReplyMessage> {
  checkVersion(buf, 'reply');
  if (buf.length >= 3 && buf[2] !== 0) {
    throw fail('E_S5_RESERVED', `reserved byte is ${hex(buf[2] as number)}: expected 0x00`, buf[2]);
  }
  if (buf.length < 3) return { need: 3 - buf.length };
  const addr = decodeAddress(buf, 3);
  if ('need' in addr) return addr;
  return { value: { version: 5, code: buf[1] as number, ...addr.value }, consumed: addr.end };
}

// ---------------------------------------------------------------- UDP ASSOCIATE datagrams (i.3)

export interface Socks5UdpDatagram extends Socks5Address {
  /** Fragment number; 0 = standalone. Servers drop FRAG ≠ 0 (i.3). */
  readonly frag: number;
  readonly data: Buffer;
}

/** A datagram arrives whole, so this is not incremental: short or bad input throws. */
export function decodeSocks5UdpDatagram(buf: Uint8Array): Socks5UdpDatagram {
  if (buf.length < 4)
    throw fail('E_S5_UDP_SHORT', `UDP datagram of ${buf.length} bytes is shorter than its header`);
  if (buf[0] !== 0 || buf[1] !== 0) throw fail('E_S5_RESERVED', 'UDP header reserved bytes are not 0x0000');
  const addr = decodeAddress(buf, 3);
  if ('need' in addr)
    throw fail('E_S5_UDP_SHORT', `UDP datagram of ${buf.length} bytes ends inside its header`);
  return {
    frag: buf[2] as number,
    ...addr.value,
    data: Buffer.from(buf.buffer, buf.byteOffset + addr.end, buf.length - addr.end),
  };
}

export function encodeSocks5UdpDatagram(d: {
  readonly frag?: number;
  readonly address: string;
  readonly port: number;
  readonly data: Uint8Array;
}): Buffer {
  return Buffer.concat([
    Buffer.from([0, 0, byte('frag', d.frag ?? 0)]),
    encodeSocks5Address(d.address, d.port),
    d.data,
  ]);
}

// ---------------------------------------------------------------- helpers

function byte(field: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 255) throw encodeError(field, `${v} is not a byte`);
  return v;
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw encodeError('port', `port ${port} is not 0..65535`);
}

function encodeError(field: string, message: string): ProtocolError {
  return Object.assign(new ProtocolError('E_S5_ENCODE', `cannot encode SOCKS 5 ${field}: ${message}`), {
    field,
  });
}
