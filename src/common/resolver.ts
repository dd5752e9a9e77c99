/**
 * All name resolution goes through one resolver (spec c.6, h.7) so tests substitute a fixture
 * table and never touch real DNS. Implementations: node:dns (server CLI), a fixture table
 * (tests), the topology's host table (lab). An injected port like the clock, so it lives in
 * common/: policy decides with it, and the topology builds the lab's over its name tables.
 */
export interface Resolver {
  /** PTR names for a dotted IPv4 address: primary name first, then aliases. [] when none. */
  reverse(address: string): Promise<readonly string[]>;
  /** IPv4 addresses (dotted) for a name, resolver order. [] when the name does not exist. */
  forward(name: string): Promise<readonly string[]>;
  /**
   * An answer already in hand (a cache hit), without waiting: lets a busy server decide a
   * request without a promise per lookup. undefined = ask `reverse` / `forward`.
   */
  held?(kind: 'reverse' | 'forward', key: string): readonly string[] | undefined;
}
