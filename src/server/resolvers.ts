import { promises as dns } from 'node:dns';
import type { Clock } from '../common/clock.ts';
import { isDottedQuadShape } from '../common/inet-address.ts';
import type { Resolver } from '../common/resolver.ts';

/**
 * Resolver implementations for the server CLI (common/resolver.ts is the contract): the system
 * resolver, a fixture table read from a hosts-style file (`--hosts`), and the b.7 DNS timer as a
 * decorator so every lookup is bounded whichever resolver is underneath.
 */

/** The system's resolver: getaddrinfo for forward (so /etc/hosts counts), PTR then getnameinfo for reverse. */
export class SystemResolver implements Resolver {
  async reverse(address: string): Promise<readonly string[]> {
    try {
      const names = await dns.reverse(address);
      if (names.length > 0) return names;
    } catch {
      // no PTR record: try the system's own table (/etc/hosts) below
    }
    try {
      const { hostname } = await dns.lookupService(address, 0);
      return hostname && hostname !== address ? [hostname] : [];
    } catch {
      return [];
    }
  }

  async forward(name: string): Promise<readonly string[]> {
    if (isDottedQuadShape(name)) return [name];
    try {
      const all = await dns.lookup(name, { all: true, family: 4 });
      const out: string[] = [];
      for (const a of all) if (!out.includes(a.address)) out.push(a.address);
      return out;
    } catch {
      return [];
    }
  }
}

/** The one empty answer a table gives for every name or address it does not hold. */
const NoAnswer: readonly string[] = Object.freeze([]);

/** A hosts-style fixture table: lines `ip name [alias...]`, `#` comments. */
export class TableResolver implements Resolver {
  private readonly byAddress = new Map<string, string[]>();
  private readonly byName = new Map<string, string[]>();

  constructor(text: string) {
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (line === '') continue;
      const [ip, ...names] = line.split(/\s+/);
      if (!ip || names.length === 0) continue;
      const list = this.byAddress.get(ip) ?? [];
      for (const n of names) if (!list.includes(n)) list.push(n);
      this.byAddress.set(ip, list);
      for (const n of names) {
        const key = n.toLowerCase();
        const addrs = this.byName.get(key) ?? [];
        if (!addrs.includes(ip)) addrs.push(ip);
        this.byName.set(key, addrs);
      }
    }
  }

  async reverse(address: string): Promise<readonly string[]> {
    return this.held('reverse', address);
  }

  async forward(name: string): Promise<readonly string[]> {
    return this.held('forward', name);
  }

  /** A table holds every answer. */
  held(kind: 'reverse' | 'forward', key: string): readonly string[] {
    if (kind === 'reverse') return this.byAddress.get(key) ?? NoAnswer;
    return isDottedQuadShape(key) ? [key] : (this.byName.get(key.toLowerCase()) ?? NoAnswer);
  }
}

/** b.7 DNS timer: a lookup that takes longer than `ms` counts as "no answer" (j.32). */
export function withLookupTimeout(inner: Resolver, ms: number, clock: Clock): Resolver {
  const bounded = (p: Promise<readonly string[]>): Promise<readonly string[]> =>
    new Promise((resolve) => {
      const t = clock.setTimeout(() => resolve([]), ms);
      p.then(
        (v) => {
          t.clear();
          resolve(v);
        },
        () => {
          t.clear();
          resolve([]);
        },
      );
    });
  // A held answer needs no timer (and no extra promise hop).
  const held = (kind: 'reverse' | 'forward', key: string) => inner.held?.(kind, key);
  return {
    reverse: (a) => {
      const h = held('reverse', a);
      return h ? Promise.resolve(h) : bounded(inner.reverse(a));
    },
    forward: (n) => {
      const h = held('forward', n);
      return h ? Promise.resolve(h) : bounded(inner.forward(n));
    },
    held,
  };
}

/**
 * A small answer cache in front of a resolver (what nscd does for the original): a standalone
 * server under load asks the same PTR/A questions for every request from the same client.
 * Positive answers live `ttlMs`, empty answers `negativeTtlMs`; at most `maxEntries` addresses
 * and as many names.
 */
export function withCache(
  inner: Resolver,
  clock: Clock,
  options: { readonly ttlMs?: number; readonly negativeTtlMs?: number; readonly maxEntries?: number } = {},
): Resolver {
  const ttl = options.ttlMs ?? 60_000;
  const negativeTtl = options.negativeTtlMs ?? 10_000;
  const max = options.maxEntries ?? 10_000;
  interface Entry {
    until: number;
    value: Promise<readonly string[]>;
    /** The answer once it arrived: served at once, even while a refresh is under way. */
    settled: Promise<readonly string[]> | null;
    answer: readonly string[] | null;
    /** When the refresh under way started (0: none); one that hangs is given up after negativeTtl. */
    refreshing: number;
  }
  // Reverse answers by address, forward answers by lower-cased name: two maps, so a lookup builds
  // no key string and no closure (held() runs for both ends of every request).
  type Kind = 'reverse' | 'forward';
  const caches: Record<Kind, Map<string, Entry>> = { reverse: new Map(), forward: new Map() };
  const question = (kind: Kind, key: string): Promise<readonly string[]> =>
    kind === 'reverse' ? inner.reverse(key) : inner.forward(key);
  // `key` is the cache key; `asked` the address or name as the caller gave it.
  const ask = (kind: Kind, key: string, asked: string, entry: Entry | null): Entry => {
    const cache = caches[kind];
    if (!entry && cache.size >= max) cache.delete(cache.keys().next().value as string);
    const now = clock.now();
    const value = question(kind, asked);
    const e: Entry = entry ?? { until: now + ttl, value, settled: null, answer: null, refreshing: 0 };
    e.refreshing = now;
    if (!entry) cache.set(key, e);
    value.then(
      (v) => {
        e.value = value;
        e.settled = value;
        e.answer = v;
        e.refreshing = 0;
        e.until = clock.now() + (v.length === 0 ? negativeTtl : ttl);
      },
      () => {
        e.refreshing = 0;
        if (!e.settled) cache.delete(key);
      },
    );
    return e;
  };
  /**
   * A held answer: fresh, or expired but still served while one refresh runs in the background
   * (a busy server never makes a request wait for a TTL to run out).
   */
  const heldEntry = (kind: Kind, key: string, asked: string): Entry | undefined => {
    const hit = caches[kind].get(key);
    if (!hit?.settled) return undefined;
    const now = clock.now();
    if (hit.until <= now && (hit.refreshing === 0 || now - hit.refreshing > negativeTtl)) {
      ask(kind, key, asked, hit);
    }
    return hit;
  };
  const lookup = (kind: Kind, key: string, asked: string): Promise<readonly string[]> => {
    const hit = caches[kind].get(key);
    if (hit) return heldEntry(kind, key, asked)?.settled ?? hit.value;
    return ask(kind, key, asked, null).value;
  };
  return {
    reverse: (a) => lookup('reverse', a, a),
    forward: (n) => lookup('forward', n.toLowerCase(), n),
    held: (kind, asked) =>
      heldEntry(kind, kind === 'forward' ? asked.toLowerCase() : asked, asked)?.answer ?? undefined,
  };
}
