/**
 * IPv4 arithmetic for topology subnets: parse CIDR blocks, test membership, enumerate host
 * addresses (address text itself is common/inet-address.ts's). Addresses are unsigned 32-bit numbers internally.
 */
import { dottedOf, parseIPv4Number } from '../common/inet-address.ts';

export interface Cidr {
  readonly base: number;
  readonly prefix: number;
  readonly mask: number;
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** `10.2.0.0/24` → Cidr; returns a reason string when invalid (host bits set, bad prefix, ...). */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  if (slash < 0) return `subnet \`${text}\` needs a prefix length, e.g. ${text}/24`;
  const base = parseIPv4Number(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (base === null) return `subnet \`${text}\` does not start with a dotted IPv4 address`;
  if (!/^[0-9]{1,2}$/.test(prefixText) || Number(prefixText) > 32) {
    return `subnet \`${text}\` has prefix length \`${prefixText}\`; expected 0 to 32`;
  }
  const prefix = Number(prefixText);
  const mask = maskOf(prefix);
  if ((base & ~mask) >>> 0 !== 0) {
    return `subnet \`${text}\` has host bits set; did you mean ${dottedOf((base & mask) >>> 0)}/${prefix}?`;
  }
  if (base >>> 24 === 127)
    return `subnet \`${text}\` is inside 127.0.0.0/8, which the local runtime uses itself`;
  return { base, prefix, mask };
}

export function contains(cidr: Cidr, address: number): boolean {
  return (address & cidr.mask) >>> 0 === cidr.base;
}

/** Usable host addresses: the network and broadcast addresses are excluded for prefixes below 31. */
export function isUsableHost(cidr: Cidr, address: number): boolean {
  if (!contains(cidr, address)) return false;
  if (cidr.prefix >= 31) return true;
  const broadcast = (cidr.base | ~cidr.mask) >>> 0;
  return address !== cidr.base && address !== broadcast;
}

/** The usable host addresses in order (lazily, so a /8 costs nothing). */
export function* hostAddresses(cidr: Cidr): Generator<number> {
  const size = 2 ** (32 - cidr.prefix);
  const first = cidr.prefix >= 31 ? 0 : 1;
  const last = cidr.prefix >= 31 ? size - 1 : size - 2;
  for (let i = first; i <= last; i++) yield cidr.base + i;
}
