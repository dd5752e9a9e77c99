/**
 * The one IPv4/IPv6 address text module: text <-> wire bytes for the codecs, text <-> unsigned
 * 32-bit numbers for rule matching and subnets. Pure; no name resolution. The text forms are the
 * canonical ones (dotted decimal; RFC 5952 for IPv6) so equal addresses compare equal as strings.
 * (Config files' inet_aton syntax, with its hex, octal and short forms, is config/inet.ts's.)
 */

/**
 * Four dot-separated groups of one to three digits: the shape of a dotted quad, values unchecked,
 * as regex source for the patterns that embed it (the topology schema's name pattern).
 */
export const DottedQuadShapeSource = String.raw`\d{1,3}(?:\.\d{1,3}){3}`;
const dottedQuadShape = new RegExp(`^${DottedQuadShapeSource}$`);
const mappedIPv4 = new RegExp(`^::ffff:(${DottedQuadShapeSource})$`, 'i');

/**
 * Where a text can be an address or a name (a scenario target, a hosts-table key), the dotted-quad
 * shape says "address"; a text of this shape is never looked up as a name.
 */
export function isDottedQuadShape(text: string): boolean {
  return dottedQuadShape.test(text);
}

/** Strict dotted decimal `a.b.c.d`, each 0..255, no leading zeros beyond a single `0`. */
export function parseIPv4(text: string): Uint8Array | null {
  // Hand-scanned (no split, no regex): every reply the server sends goes through here.
  const out = new Uint8Array(4);
  let part = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || part === 3) return null;
      out[part++] = value;
      digits = 0;
      value = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && value === 0) return null; // leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return null;
    } else {
      return null;
    }
  }
  if (digits === 0 || part !== 3) return null;
  out[3] = value;
  return out;
}

/** Strict dotted decimal (as parseIPv4) → unsigned 32-bit number, or null. */
export function parseIPv4Number(text: string): number | null {
  const b = parseIPv4(text);
  return b === null ? null : ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/**
 * Dotted quad → unsigned 32-bit number, for addresses coming from sockets and resolvers (not
 * inet_aton): up to three digits a part, leading zeros allowed.
 */
export function parseDottedQuad(text: string): number | undefined {
  // Hand-scanned: runs for both ends of every request.
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return undefined;
      part = part * 10 + (c - 48);
    } else if (c === 46 /* . */ && digits > 0 && parts < 3) {
      if (part > 255) return undefined;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else {
      return undefined;
    }
  }
  if (digits === 0 || parts !== 3 || part > 255) return undefined;
  return (value * 256 + part) >>> 0;
}

/** An unsigned 32-bit address in dotted-decimal form. */
export function dottedOf(addr: number): string {
  const v = addr >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** `::ffff:a.b.c.d` (IPv4-mapped IPv6, as node reports peers on dual-stack sockets) → `a.b.c.d`. */
export function unmapIPv4(address: string): string {
  if (address.length < 8 || address.charCodeAt(0) !== 58 /* : */) return address;
  const m = mappedIPv4.exec(address);
  return m ? m[1]! : address;
}

export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** IPv6 text (with `::` and an optional trailing dotted quad) → 16 bytes, or null. No zone ids. */
export function parseIPv6(text: string): Uint8Array | null {
  if (text.length === 0 || text.length > 45) return null;
  let head = text;
  let tailV4: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.indexOf('.', lastColon) > lastColon) {
    tailV4 = parseIPv4(text.slice(lastColon + 1));
    if (!tailV4) return null;
    // Keep the colon(s) before the quad: `::ffff:1.2.3.4` → head `::ffff:` + placeholder.
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const doubleAt = head.indexOf('::');
  if (doubleAt !== head.lastIndexOf('::')) return null;
  const groups: number[] = [];
  const parseGroups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  if (doubleAt >= 0) {
    const left = parseGroups(head.slice(0, doubleAt));
    const right = parseGroups(head.slice(doubleAt + 2));
    if (!left || !right || left.length + right.length > 7) return null;
    groups.push(...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right);
  } else {
    const all = parseGroups(head) ?? [];
    if (all.length !== 8) return null;
    groups.push(...all);
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (tailV4) out.set(tailV4, 12);
  return out;
}

/** 16 bytes → RFC 5952 text: lower case, longest run (≥ 2) of zero groups as `::`, mapped IPv4 dotted. */
export function formatIPv6(bytes: Uint8Array, offset = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(((bytes[offset + i * 2] ?? 0) << 8) | (bytes[offset + i * 2 + 1] ?? 0));
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${formatIPv4(bytes, offset + 12)}`;
  }
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

export type AddressKind = 'ipv4' | 'ipv6' | 'domain';
