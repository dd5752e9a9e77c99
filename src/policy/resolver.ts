/**
 * All name resolution goes through one resolver (spec c.6, h.7) so tests substitute a fixture
 * table and never touch real DNS. Implementations: node:dns (server CLI), a fixture table
 * (tests), the topology's host table (lab).
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

/** User files are read at match time (c.8); the reader is injected so policy stays pure. */
export type UserFileReader = (
  path: string,
) =>
  | { readonly ok: true; readonly names: readonly string[] }
  | { readonly ok: false; readonly error: string };
