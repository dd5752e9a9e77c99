import { isDottedQuadShape } from '../common/inet-address.ts';
import type { HopDestination } from './trace.ts';

/**
 * Where a request's destination name was resolved, hop by hop (split DNS): one pure walk shared
 * by trace stitching (observed events) and `sockslab check` (predicted hops), so both say the
 * same thing about the same request.
 */

/** What one hop received and what its own name service answered for a received name. */
export interface HopReceipt {
  readonly host: string;
  /** The name received (SOCKS 4A / SOCKS 5 domain), when it came as a name. */
  readonly name?: string;
  /** The address received, when it came as one. */
  readonly address?: string;
  /** The hop's forward answer for the name ([] = unresolvable here); absent when not looked up. */
  readonly resolved?: readonly string[];
}

export function hopDestinations(
  origin: { readonly host: string; readonly target: string; readonly protocol: string },
  hops: readonly HopReceipt[],
): HopDestination[] {
  // SOCKS 4 carries an address: a name the case gave was resolved on the origin itself.
  let name: string | undefined = isDottedQuadShape(origin.target) ? undefined : origin.target;
  let resolvedBy: string | null = name !== undefined && origin.protocol === 'socks4' ? origin.host : null;
  return hops.map((hop, i) => {
    if (hop.name !== undefined) {
      const here = hop.resolved?.[0];
      if (here !== undefined) {
        name = hop.name;
        resolvedBy = hop.host;
        return { received: 'name', name: hop.name, address: here, resolvedBy: hop.host };
      }
      const later = hops.slice(i + 1).find((h) => h.name !== undefined && (h.resolved?.length ?? 0) > 0);
      return { received: 'name', name: hop.name, address: null, resolvedBy: later?.host ?? null };
    }
    return {
      received: 'address',
      ...(name !== undefined ? { name } : {}),
      address: hop.address ?? null,
      resolvedBy,
    };
  });
}
