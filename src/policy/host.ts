import { dottedOf, parseDottedQuad, unmapIPv4 } from '../common/inet-address.ts';
import type { Resolver } from '../common/resolver.ts';
import type { AddrSpec } from '../config/ast.ts';

/**
 * What rule matching knows about one end of a request (c.6): its IPv4 addresses and its names.
 * `display` is SRCHOST / DSTHOST for logs and `%A` / `%Z`; `dotted` is `%a` / `%z`.
 */
export interface HostIdentity {
  /** IPv4 addresses as unsigned 32-bit numbers; only the first 19 take part in matching (c.5). */
  readonly addresses: readonly number[];
  /** Names for domain patterns; [] for the unspecified host 0.0.0.0 and for unresolved IPv6. */
  readonly names: readonly string[];
  readonly display: string;
  readonly dotted: string;
}

/** c.5: "at most the first 19" addresses of a host are compared with a numeric rule. */
const MaxMatchedAddresses = 19;

/** Unspecified host (BIND to DSTIP 0.0.0.0): matches only mask 0.0.0.0 and ALL (c.6). */
export const UnspecifiedHostName = 'Unspecified.Host';

async function safely(lookup: Promise<readonly string[]>): Promise<readonly string[]> {
  // A failing lookup (timeout, SERVFAIL) counts as "no answer" (j.32): names fall back to the
  // dotted address, patterns simply do not match.
  try {
    return await lookup;
  } catch {
    return [];
  }
}

function uniqueNames(candidates: readonly string[]): string[] {
  return candidates.filter(
    (name, i) => candidates.findIndex((other) => other.toLowerCase() === name.toLowerCase()) === i,
  );
}

/**
 * Names of an address confirmed by forward lookup (c.6): a PTR name is kept only if its own
 * forward lookup contains the address, so a forged PTR record cannot claim a zone.
 */
async function confirmedNames(resolver: Resolver, dotted: string): Promise<string[]> {
  const unique = uniqueNames(await safely(resolver.reverse(dotted)));
  // Confirm all candidates at once (each lookup has its own timeout); keep the PTR order.
  const confirmed = await Promise.all(
    unique.map(async (name) => (await safely(resolver.forward(name))).includes(dotted)),
  );
  return unique.filter((_, i) => confirmed[i]);
}

/**
 * An identity built from held answers, kept with the answers it came from: the resolver hands out
 * the same answer arrays until they change, so a busy client or destination is not re-confirmed
 * (and its identity not rebuilt) for every request.
 */
interface HeldIdentity {
  readonly text: string;
  readonly names: readonly string[];
  readonly forwards: readonly (readonly string[])[];
  readonly identity: HostIdentity;
}
const heldIdentities = new WeakMap<readonly string[], HeldIdentity>();

function sameForwards(resolver: Resolver, memo: HeldIdentity): boolean {
  for (let i = 0; i < memo.names.length; i++) {
    if (resolver.held?.('forward', memo.names[i] as string) !== memo.forwards[i]) return false;
  }
  return true;
}

type Parsed = { readonly text: string; readonly addr: number | undefined };

function parseHostAddress(ip: string | number): Parsed {
  const text = typeof ip === 'number' ? dottedOf(ip >>> 0) : unmapIPv4(ip);
  return { text, addr: parseDottedQuad(text) };
}

function identityOf({ text, addr }: Parsed, names: readonly string[] | undefined): HostIdentity {
  if (addr === undefined) {
    // Native IPv6 peer: no IPv4 address, so only mask-0 rules, ALL, or a pattern equal to the
    // textual address can match it (c.6).
    return { addresses: [], names: [text], display: text, dotted: text };
  }
  if (addr === 0) return { addresses: [0], names: [], display: UnspecifiedHostName, dotted: '0.0.0.0' };
  const confirmed = names ?? [];
  return {
    addresses: [addr],
    names: confirmed.length > 0 ? confirmed : [text],
    display: confirmed[0] ?? text,
    dotted: text,
  };
}

/**
 * Identity of a host known by address: the TCP peer, or a plain SOCKS 4 DSTIP (c.6).
 * Accepts a dotted string (IPv4-mapped IPv6 is unmapped first) or a 32-bit number.
 */
export async function hostFromAddress(resolver: Resolver, ip: string | number): Promise<HostIdentity> {
  const parsed = parseHostAddress(ip);
  if (parsed.addr === undefined || parsed.addr === 0) return identityOf(parsed, undefined);
  return identityOf(parsed, await confirmedNames(resolver, parsed.text));
}

/** hostFromAddress without waiting, when the resolver already holds every answer it needs. */
export function heldHostFromAddress(resolver: Resolver, ip: string | number): HostIdentity | undefined {
  const parsed = parseHostAddress(ip);
  if (parsed.addr === undefined || parsed.addr === 0) return identityOf(parsed, undefined);
  const candidates = resolver.held?.('reverse', parsed.text);
  if (candidates === undefined) return undefined;
  if (candidates.length === 0) return identityOf(parsed, []);
  const memo = heldIdentities.get(candidates);
  if (memo !== undefined && memo.text === parsed.text && sameForwards(resolver, memo)) return memo.identity;
  // Confirm each PTR name by its own forward answer (c.6), as confirmedNames does.
  const names = candidates.length === 1 ? candidates : uniqueNames(candidates);
  const forwards: (readonly string[])[] = [];
  const confirmed: string[] = [];
  for (const name of names) {
    const addresses = resolver.held?.('forward', name);
    if (addresses === undefined) return undefined;
    forwards.push(addresses);
    if (addresses.includes(parsed.text)) confirmed.push(name);
  }
  const identity = identityOf(parsed, confirmed);
  heldIdentities.set(candidates, { text: parsed.text, names, forwards, identity });
  return identity;
}

function identityOfName(
  name: string,
  resolved: readonly string[],
  wireAddress: number | undefined,
): HostIdentity {
  const addresses: number[] = [];
  for (const a of resolved) {
    const n = parseDottedQuad(unmapIPv4(a));
    if (n !== undefined && !addresses.includes(n)) addresses.push(n);
  }
  const first = addresses[0];
  return {
    addresses,
    names: [name],
    display: name,
    dotted: first !== undefined ? dottedOf(first) : dottedOf((wireAddress ?? 1) >>> 0),
  };
}

/**
 * Identity of a destination given by name (SOCKS 4A, SOCKS 5 ATYP 3; b.3): names = the name as
 * sent (the Resolver contract has no canonical-name query, so no further names are added),
 * addresses = its forward lookup (possibly empty). `%z` is the first resolved address, or the
 * received wire value (`0.0.0.x`) when nothing resolved.
 */
export async function hostFromName(
  resolver: Resolver,
  name: string,
  options: { readonly wireAddress?: number } = {},
): Promise<HostIdentity> {
  return identityOfName(name, await safely(resolver.forward(name)), options.wireAddress);
}

/** hostFromName without waiting, when the resolver already holds the answer. */
export function heldHostFromName(
  resolver: Resolver,
  name: string,
  options: { readonly wireAddress?: number } = {},
): HostIdentity | undefined {
  const resolved = resolver.held?.('forward', name);
  return resolved === undefined ? undefined : identityOfName(name, resolved, options.wireAddress);
}

/** c.5 matching of one host against one address field (numeric/mask, ALL, name, zone). */
export function hostMatches(host: HostIdentity, spec: AddrSpec): boolean {
  const p = spec.pattern;
  switch (p.kind) {
    case 'all':
      return true;
    case 'ip': {
      const mask = spec.mask >>> 0;
      if (mask === 0) return true;
      const want = (p.addr & mask) >>> 0;
      const addresses = host.addresses;
      const n = Math.min(addresses.length, MaxMatchedAddresses);
      for (let i = 0; i < n; i++) if (((addresses[i] as number) & mask) >>> 0 === want) return true;
      return false;
    }
    case 'name': {
      const name = p.name.toLowerCase();
      return host.names.some((n) => n.toLowerCase() === name);
    }
    case 'zone': {
      const zone = p.zone.toLowerCase();
      return host.names.some((n) => {
        const lower = n.toLowerCase();
        return lower === zone || lower.endsWith(`.${zone}`);
      });
    }
  }
}
