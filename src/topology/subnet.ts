import {
  dottedOf as formatIPv4,
  formatIPv6,
  parseIPv4Number as parseIPv4,
  parseIPv6,
} from '../common/inet-address.ts';
import { type Cidr, contains, hostAddresses, isUsableHost, parseCidr } from './ipv4.ts';

/**
 * A network's subnet, IPv4 or IPv6, behind one interface that speaks address text: the loader
 * checks membership, uniqueness (on canonical text) and assigns `auto` addresses through it.
 */
export interface Subnet {
  readonly family: 4 | 6;
  /** Canonical CIDR text. */
  readonly text: string;
  /** Canonical form of an address of this family, or null when it is not one. */
  canonical(address: string): string | null;
  contains(address: string): boolean;
  /** Inside, and not the network (or IPv4 broadcast) address. */
  usable(address: string): boolean;
  /** Usable addresses in order, lazily. */
  hosts(): Generator<string>;
}

function ipv4Subnet(c: Cidr): Subnet {
  const num = (a: string) => parseIPv4(a);
  return {
    family: 4,
    text: `${formatIPv4(c.base)}/${c.prefix}`,
    canonical: (a) => (num(a) === null ? null : a),
    contains: (a) => {
      const n = num(a);
      return n !== null && contains(c, n);
    },
    usable: (a) => {
      const n = num(a);
      return n !== null && isUsableHost(c, n);
    },
    *hosts() {
      for (const n of hostAddresses(c)) yield formatIPv4(n);
    },
  };
}

/**
 * IPv6 subnet arithmetic on 128-bit BigInts; the address text (parse and RFC 5952 form) is
 * common/inet-address.ts's, so equal addresses compare equal as strings everywhere in the lab.
 */
function ipv6Number(text: string): bigint | null {
  const bytes = parseIPv6(text);
  if (bytes === null) return null;
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function ipv6Text(n: bigint): string {
  const bytes = new Uint8Array(16);
  for (let i = 15, v = n; i >= 0; i--, v >>= 8n) bytes[i] = Number(v & 0xffn);
  return formatIPv6(bytes);
}

function maskOf6(prefix: number): bigint {
  const all = (1n << 128n) - 1n;
  return prefix === 0 ? 0n : (all << BigInt(128 - prefix)) & all;
}

function ipv6Subnet(base: bigint, prefix: number): Subnet {
  const mask = maskOf6(prefix);
  const inside = (n: bigint) => (n & mask) === base;
  return {
    family: 6,
    text: `${ipv6Text(base)}/${prefix}`,
    canonical: (a) => {
      const n = ipv6Number(a);
      return n === null ? null : ipv6Text(n);
    },
    contains: (a) => {
      const n = ipv6Number(a);
      return n !== null && inside(n);
    },
    usable: (a) => {
      const n = ipv6Number(a);
      // The all-zero host part is the subnet-router anycast address (RFC 4291).
      return n !== null && inside(n) && (prefix === 128 || n !== base);
    },
    *hosts() {
      const size = 1n << BigInt(128 - prefix);
      for (let i = prefix === 128 ? 0n : 1n; i < size; i++) yield ipv6Text(base + i);
    },
  };
}

/** `10.2.0.0/24` or `2001:db8:2::/64` → Subnet, or a reason string. */
export function parseSubnet(text: string): Subnet | string {
  if (!text.includes(':')) {
    const c = parseCidr(text);
    return typeof c === 'string' ? c : ipv4Subnet(c);
  }
  const slash = text.indexOf('/');
  if (slash < 0) return `subnet \`${text}\` needs a prefix length, e.g. ${text}/64`;
  const base = ipv6Number(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (base === null) return `subnet \`${text}\` does not start with an IPv6 address`;
  if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > 128) {
    return `subnet \`${text}\` has prefix length \`${prefixText}\`; expected 0 to 128`;
  }
  const prefix = Number(prefixText);
  const mask = maskOf6(prefix);
  if ((base & mask) !== base) {
    return `subnet \`${text}\` has host bits set; did you mean ${ipv6Text(base & mask)}/${prefix}?`;
  }
  if (base === 1n || (base === 0n && prefix === 128))
    return `subnet \`${text}\` is a loopback or unspecified address`;
  return ipv6Subnet(base, prefix);
}
