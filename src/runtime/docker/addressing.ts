import { dottedOf, parseDottedQuad } from '../../common/inet-address.ts';

/**
 * Docker needs a gateway address in every user-defined subnet and will not give it to a
 * container. Topologies are free to use `.1` for a host, so the gateway is the highest usable
 * address no host of the topology uses.
 */

/** The gateway for `subnet` avoiding `used`, or null when the subnet has no free address left. */
export function gatewayFor(subnet: string, used: readonly string[]): string | null {
  const [baseText, prefixText] = subnet.split('/');
  const base = parseDottedQuad(baseText ?? '');
  const prefix = Number(prefixText);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 30) return null;
  const size = 2 ** (32 - prefix);
  const taken = new Set(used);
  // Highest usable address first: below the broadcast address, down to the first host address.
  for (let offset = size - 2; offset >= 1; offset--) {
    const candidate = dottedOf(base + offset);
    if (!taken.has(candidate)) return candidate;
  }
  return null;
}
