/**
 * Docker needs a gateway address in every user-defined subnet and will not give it to a
 * container. Topologies are free to use `.1` for a host, so the gateway is the highest usable
 * address no host of the topology uses.
 */

function parseIPv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    n = n * 256 + Number(p);
  }
  return n;
}

function formatIPv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** The gateway for `subnet` avoiding `used`, or null when the subnet has no free address left. */
export function gatewayFor(subnet: string, used: readonly string[]): string | null {
  const [baseText, prefixText] = subnet.split('/');
  const base = parseIPv4(baseText ?? '');
  const prefix = Number(prefixText);
  if (base === null || !Number.isInteger(prefix) || prefix < 0 || prefix > 30) return null;
  const size = 2 ** (32 - prefix);
  const taken = new Set(used);
  // Highest usable address first: below the broadcast address, down to the first host address.
  for (let offset = size - 2; offset >= 1; offset--) {
    const candidate = formatIPv4((base + offset) >>> 0);
    if (!taken.has(candidate)) return candidate;
  }
  return null;
}
