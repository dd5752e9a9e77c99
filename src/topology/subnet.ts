import { dottedOf as formatIPv4, parseIPv4Number as parseIPv4 } from '../common/inet-address.ts';
import { type Cidr, contains, hostAddresses, isUsableHost, parseCidr } from './ipv4.ts';
import { formatIPv6, maskOf6, parseIPv6 } from './ipv6.ts';

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

function ipv6Subnet(base: bigint, prefix: number): Subnet {
  const mask = maskOf6(prefix);
  const inside = (n: bigint) => (n & mask) === base;
  return {
    family: 6,
    text: `${formatIPv6(base)}/${prefix}`,
    canonical: (a) => {
      const n = parseIPv6(a);
      return n === null ? null : formatIPv6(n);
    },
    contains: (a) => {
      const n = parseIPv6(a);
      return n !== null && inside(n);
    },
    usable: (a) => {
      const n = parseIPv6(a);
      // The all-zero host part is the subnet-router anycast address (RFC 4291).
      return n !== null && inside(n) && (prefix === 128 || n !== base);
    },
    *hosts() {
      const size = 1n << BigInt(128 - prefix);
      for (let i = prefix === 128 ? 0n : 1n; i < size; i++) yield formatIPv6(base + i);
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
  const base = parseIPv6(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (base === null) return `subnet \`${text}\` does not start with an IPv6 address`;
  if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > 128) {
    return `subnet \`${text}\` has prefix length \`${prefixText}\`; expected 0 to 128`;
  }
  const prefix = Number(prefixText);
  const mask = maskOf6(prefix);
  if ((base & mask) !== base) {
    return `subnet \`${text}\` has host bits set; did you mean ${formatIPv6(base & mask)}/${prefix}?`;
  }
  if (base === 1n || (base === 0n && prefix === 128))
    return `subnet \`${text}\` is a loopback or unspecified address`;
  return ipv6Subnet(base, prefix);
}
