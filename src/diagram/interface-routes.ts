/**
 * What a multi-homed server's sockd.route says about each of its interfaces (spec e): which BIND
 * destinations get a listening socket on that address. Drawn on the host's edge into the
 * network the address is on, so the picture shows which side each BIND faces.
 */
import { dottedOf as dotted } from '../common/inet-address.ts';
import type { ResolvedTopology } from '../topology/model.ts';
import { describeDestination, type Forwarding, type ForwardingWarning } from './forwarding.ts';
import { sortedHosts } from './topology-facts.ts';

export interface InterfaceRoutes {
  /** host → interface address → lines like `BIND to 172.16.0.0/24 (sockd.route:3)`, in file order. */
  readonly byHost: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
  readonly warnings: readonly ForwardingWarning[];
}

export function interfaceRoutes(topology: ResolvedTopology): InterfaceRoutes {
  const byHost = new Map<string, Map<string, string[]>>();
  const warnings: ForwardingWarning[] = [];
  for (const host of sortedHosts(topology)) {
    const conf = host.server?.sockdRoute;
    if (conf === undefined) continue;
    if (!conf.parsed.ok) {
      // Only a topology loaded for drawing keeps an invalid config; it becomes a note.
      const err = conf.parsed.error;
      const first = err.errors[0];
      warnings.push({
        host: host.name,
        message: `${conf.name}${first === undefined ? '' : `:${first.line}`} is invalid: ${first?.classic ?? err.message}; BIND interfaces not drawn`,
      });
      continue;
    }
    const lines = new Map<string, string[]>();
    for (const route of conf.parsed.config.routes) {
      const address = dotted(route.iface);
      const list = lines.get(address) ?? [];
      list.push(`BIND to ${describeDestination(route.dst)} (${conf.name}:${route.line})`);
      lines.set(address, list);
    }
    byHost.set(host.name, lines);
  }
  return { byHost, warnings };
}

/** The config lines drawn under a host: its direct/deny lines, and for a single-homed host its sockd.route lines. */
export function hostNotes(
  routes: Forwarding,
  bindRoutes: InterfaceRoutes,
  host: string,
  address?: string,
): string[] {
  return [
    ...(routes.local.get(host) ?? []),
    ...(address === undefined ? [] : (bindRoutes.byHost.get(host)?.get(address) ?? [])),
  ];
}
