import { isDottedQuadShape } from './inet-address.ts';
import type { Resolver } from './resolver.ts';

/**
 * A Resolver answering from fixed tables, for tests, the checkers' `--hosts FILE` and the lab.
 * Forward keys compare case-insensitively (DNS names do); reverse keys are dotted IPv4.
 */
export function tableResolver(tables: {
  readonly reverse: ReadonlyMap<string, readonly string[]>;
  readonly forward: ReadonlyMap<string, readonly string[]>;
}): Resolver {
  const forward = new Map<string, readonly string[]>();
  for (const [name, addrs] of tables.forward) {
    const key = name.toLowerCase();
    forward.set(key, [...(forward.get(key) ?? []), ...addrs]);
  }
  return {
    reverse: async (address) => tables.reverse.get(address) ?? [],
    forward: async (name) => forward.get(name.toLowerCase()) ?? [],
  };
}

/**
 * Parses a hosts-style fixture (`ip name [alias…]`, `#` comments) into a Resolver that answers
 * both directions from it: reverse(ip) = the names of its lines in order, forward(name) = every
 * ip whose line lists the name. Lines whose first field is not a dotted IPv4 address are ignored.
 */
export function hostsFileResolver(text: string): Resolver {
  const reverse = new Map<string, string[]>();
  const forward = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const hash = raw.indexOf('#');
    const fields = (hash === -1 ? raw : raw.slice(0, hash)).trim().split(/\s+/);
    const [ip, ...names] = fields;
    if (ip === undefined || !isDottedQuadShape(ip) || names.length === 0) continue;
    reverse.set(ip, [...(reverse.get(ip) ?? []), ...names]);
    for (const name of names) {
      const key = name.toLowerCase();
      const list = forward.get(key) ?? [];
      if (!list.includes(ip)) list.push(ip);
      forward.set(key, list);
    }
  }
  return tableResolver({ reverse, forward });
}
