/**
 * The topology as a Mermaid flowchart for Markdown (summary.md): networks as subgraphs, hosts
 * shaped and coloured by role, multi-homed hosts linked to each network with their address,
 * forwarding edges from socks.conf. Deterministic, like the DOT form.
 */
import type { HostModel, ResolvedTopology, Role } from '../topology/model.ts';
import { forwarding, type Upstream } from './forwarding.ts';
import { bundleForwarding, externalsOf, forwardingLines } from './forwarding-bundle.ts';
import { hostNotes, interfaceRoutes } from './interface-routes.ts';
import { mermaidId, mermaidLines, mermaidText } from './mermaid-syntax.ts';
import { edgeColours, roleStyles } from './palette.ts';
import { placement, serviceLines, sortedInterfaces } from './topology-facts.ts';

/** Mermaid node shapes by role, as [open, close] around the quoted label. */
const roleShapes = {
  client: ['(', ')'],
  rsockd: ['{{', '}}'],
  sockd: ['[[', ']]'],
  'identd-only': ['([', '])'],
  echo: ['[(', ')]'],
} as const satisfies Record<Role, readonly [string, string]>;

export const mermaidHostId = (name: string): string => mermaidId('h', name);
export const mermaidNetworkId = (name: string): string => mermaidId('n', name);
export const mermaidExternalId = (name: string): string => mermaidId('x', name);

export function mermaidHostNode(host: HostModel, address?: string, notes: readonly string[] = []): string {
  const [open, close] = roleShapes[host.role];
  const lines = [host.name, ...serviceLines(host), ...(address === undefined ? [] : [address]), ...notes];
  return `${mermaidHostId(host.name)}${open}"${mermaidLines(lines)}"${close}`;
}

/** `classDef` lines for every role plus `class` lines for the hosts given. */
export function mermaidRoleClasses(hosts: readonly HostModel[]): string[] {
  const lines = Object.entries(roleStyles).map(
    ([role, s]) => `classDef ${mermaidId('role', role)} fill:${s.fill},stroke:${s.stroke},color:#0f172a`,
  );
  for (const role of Object.keys(roleStyles)) {
    const ids = hosts
      .filter((h) => h.role === role)
      .map((h) => mermaidHostId(h.name))
      .sort();
    if (ids.length > 0) lines.push(`class ${ids.join(',')} ${mermaidId('role', role)}`);
  }
  return lines;
}

const upstreamMermaidId = (to: Upstream): string =>
  to.kind === 'host' ? mermaidHostId(to.host) : mermaidExternalId(to.name);

/** The topology as Mermaid `flowchart` text. Pure and deterministic. */
export function topologyMermaid(topology: ResolvedTopology): string {
  const place = placement(topology);
  const routes = forwarding(topology);
  const bindRoutes = interfaceRoutes(topology);
  const notes = (host: string, address?: string) => hostNotes(routes, bindRoutes, host, address);
  const lines: string[] = ['flowchart TB'];
  for (const { network, members } of place.networks) {
    lines.push(
      `  subgraph ${mermaidNetworkId(network.name)}["${mermaidText(`${network.name}  ${network.subnet}`)}"]`,
    );
    for (const { host, address } of members)
      lines.push(`    ${mermaidHostNode(host, address, notes(host.name, address))}`);
    lines.push('  end');
  }
  for (const host of place.between) lines.push(`  ${mermaidHostNode(host, undefined, notes(host.name))}`);

  const links: string[] = [];
  const linkStyles: string[] = [];
  for (const host of place.between)
    for (const iface of sortedInterfaces(host)) {
      const label = [iface.address, ...(bindRoutes.byHost.get(host.name)?.get(iface.address) ?? [])];
      links.push(
        `${mermaidHostId(host.name)} ---|"${mermaidLines(label)}"| ${mermaidNetworkId(iface.network)}`,
      );
    }

  const drawn = bundleForwarding(routes.edges, place);
  for (const edge of drawn) {
    const from = edge.from;
    const tail = from.kind === 'host' ? mermaidHostId(from.host) : mermaidNetworkId(from.network);
    linkStyles.push(`linkStyle ${links.length} stroke:${edgeColours.forwarding},stroke-width:2px`);
    links.push(`${tail} ==>|"${mermaidLines(forwardingLines(edge))}"| ${upstreamMermaidId(edge.to)}`);
  }
  for (const name of externalsOf(drawn))
    lines.push(`  ${mermaidExternalId(name)}["${mermaidLines([name, 'not in this topology'])}"]`);
  [...routes.warnings, ...bindRoutes.warnings].forEach((warning, i) => {
    const id = mermaidId('note', `${warning.host}#${i}`);
    lines.push(`  ${id}>"${mermaidText(`⚠ ${warning.message}`)}"]`);
    links.push(`${id} -.- ${mermaidHostId(warning.host)}`);
  });
  lines.push(...links.map((l) => `  ${l}`));
  lines.push(...linkStyles.map((l) => `  ${l}`));
  lines.push(...mermaidRoleClasses(topology.hosts).map((l) => `  ${l}`));
  return `${lines.join('\n')}\n`;
}
