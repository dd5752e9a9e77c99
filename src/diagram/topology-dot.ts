/**
 * The topology as DOT, from the file alone: networks as clusters labelled with their subnets,
 * hosts shaped and coloured by role, each multi-homed host once between its networks with an
 * edge into each (labelled with its address there), forwarding edges from socks.conf, and the
 * ports each host listens on. Output is deterministic: everything sorted, ids derived from names.
 */
import type { HostModel, ResolvedTopology } from '../topology/model.ts';
import { attrs, block, clusterId, dotId, html, markup, wrap } from './dot-syntax.ts';
import { type Forwarding, type ForwardingWarning, forwarding, type Upstream } from './forwarding.ts';
import { bundleForwarding, type DrawnForwarding, externalsOf, forwardingLines } from './forwarding-bundle.ts';
import { hostNotes, type InterfaceRoutes, interfaceRoutes } from './interface-routes.ts';
import { edgeColours, externalFill, networkFill, networkStroke, noteFill, roleStyles } from './palette.ts';
import { type Placement, placement, serviceLines, sortedInterfaces } from './topology-facts.ts';

export const hostId = (name: string): string => dotId('h', name);
/** Where edges enter a network cluster (its first row) and leave it (its last row). */
export const networkAnchorId = (name: string): string => dotId('net', name);
export const networkExitId = (name: string): string => dotId('netout', name);

/** Hosts per row inside a network, so a big network wraps instead of growing sideways. */
const ROW = 5;
export const externalId = (name: string): string => dotId('x', name);
export const upstreamId = (to: Upstream): string =>
  to.kind === 'host' ? hostId(to.host) : externalId(to.name);

export interface BaseOptions {
  /** Hosts to draw at full strength; the rest faded. Absent: everything at full strength. */
  readonly highlight?: ReadonlySet<string>;
  /**
   * Draw what the configs say: socks.conf forwarding edges, direct/deny lines, sockd.route
   * interfaces, and warnings about configs that do not parse. Off for trace overlays.
   */
  readonly details: boolean;
}

/** Config lines shown under a host at most; the rest are counted. */
const MAX_NOTES = 4;

function hostLabel(
  host: HostModel,
  address: string | undefined,
  faded: boolean,
  notes: readonly string[],
): string {
  const colour = faded ? edgeColours.faded : undefined;
  const name = faded ? `<FONT COLOR="#94a3b8">${html(host.name)}</FONT>` : markup.bold(html(host.name));
  const lines = [name, ...serviceLines(host).map((line) => markup.small(html(line), colour))];
  if (address !== undefined) lines.push(markup.small(html(address), faded ? colour : '#475569'));
  const shown =
    notes.length > MAX_NOTES
      ? [...notes.slice(0, MAX_NOTES - 1), `… ${notes.length - MAX_NOTES + 1} more lines`]
      : notes;
  for (const note of shown)
    lines.push(`<FONT POINT-SIZE="9" COLOR="${faded ? edgeColours.faded : '#64748b'}">${html(note)}</FONT>`);
  return markup.lines(lines);
}

function hostNode(
  host: HostModel,
  address: string | undefined,
  options: BaseOptions,
  notes: readonly string[] = [],
): string {
  const style = roleStyles[host.role];
  const faded = options.highlight !== undefined && !options.highlight.has(host.name);
  return `${hostId(host.name)}${attrs({
    shape: style.shape,
    style: style.style,
    fillcolor: faded ? '#f8fafc' : style.fill,
    color: faded ? edgeColours.faded : style.stroke,
    penwidth: faded ? 1 : 1.5,
    label: { html: hostLabel(host, address, faded, notes) },
    tooltip: host.description ?? `${host.name} (${host.role})`,
  })};`;
}

/** What the configs add to the picture (empty for trace overlays), and the warnings about them as notes. */
interface ConfigDetails {
  readonly routes: Forwarding;
  readonly bindRoutes: InterfaceRoutes;
  readonly notes: readonly WarningNote[];
}

/**
 * Clusters, hosts and network memberships: the part every diagram of this topology shares. Drawn
 * in the order a reader meets them: each network with its hosts, the hosts between networks with
 * their membership edges, the forwarding edges (and the servers outside the topology they end
 * at), then the warning notes.
 */
export function baseStatements(
  topology: ResolvedTopology,
  options: BaseOptions,
): {
  readonly nodes: string[];
  readonly edges: string[];
  readonly forwarding: Forwarding;
} {
  const place = placement(topology);
  const details = configDetails(topology, options);
  const nodes: string[] = [];
  const edges: string[] = [];
  for (const { network, members } of place.networks)
    nodes.push(...networkCluster(topology, options, details, network, members));
  for (const host of place.between) {
    nodes.push(hostNode(host, undefined, options, hostNotes(details.routes, details.bindRoutes, host.name)));
    nodes.push(...notesOf(details, host.name));
    edges.push(...membershipEdges(place, options, details, host));
  }
  const drawn = bundleForwarding(details.routes.edges, place);
  edges.push(...drawn.map(forwardingEdge));
  nodes.push(...externalsOf(drawn).map(externalNode));
  for (const note of details.notes) edges.push(note.edge);
  return { nodes, edges, forwarding: details.routes };
}

function configDetails(topology: ResolvedTopology, options: BaseOptions): ConfigDetails {
  const routes: Forwarding = options.details
    ? forwarding(topology)
    : { edges: [], warnings: [], local: new Map() };
  const bindRoutes: InterfaceRoutes = options.details
    ? interfaceRoutes(topology)
    : { byHost: new Map(), warnings: [] };
  return { routes, bindRoutes, notes: warningNotes([...routes.warnings, ...bindRoutes.warnings]) };
}

function notesOf(details: ConfigDetails, host: string): string[] {
  return details.notes.filter((n) => n.host === host).map((n) => n.node);
}

/** A network as a cluster: its title, edge anchors, its hosts (with their notes) in rows. */
function networkCluster(
  topology: ResolvedTopology,
  options: BaseOptions,
  details: ConfigDetails,
  network: Placement['networks'][number]['network'],
  members: Placement['networks'][number]['members'],
): string[] {
  const faded = !touched(topology, options, network.name);
  const title = `${markup.bold(html(network.name))}  ${html(network.subnet)}`;
  const description = network.description === undefined ? [] : [markup.small(html(network.description))];
  const body = [
    `graph${attrs({
      label: { html: markup.lines([title, ...description]) },
      style: 'rounded,filled',
      fillcolor: networkFill,
      color: faded ? edgeColours.faded : networkStroke,
      fontcolor: faded ? '#94a3b8' : '#0f172a',
    })};`,
    // Anchors for edges into and out of the network (drawn to the cluster border).
    `${networkAnchorId(network.name)}${attrs({ shape: 'point', style: 'invis', width: 0.01 })};`,
    `${networkExitId(network.name)}${attrs({ shape: 'point', style: 'invis', width: 0.01 })};`,
    ...members.map(({ host, address }) =>
      hostNode(host, address, options, hostNotes(details.routes, details.bindRoutes, host.name, address)),
    ),
    // A warning sits in its host's network, under the host.
    ...members.flatMap(({ host }) => notesOf(details, host.name)),
    ...networkRows(
      network.name,
      members.map(({ host }) => hostId(host.name)),
    ),
  ];
  return block(`subgraph ${clusterId(network.name)}`, body);
}

/** A network is drawn at full strength when no highlight is set or a highlighted host is on it. */
function touched(topology: ResolvedTopology, options: BaseOptions, networkName: string): boolean {
  return (
    options.highlight === undefined ||
    topology.hosts.some(
      (h) => options.highlight?.has(h.name) && h.interfaces.some((i) => i.network === networkName),
    )
  );
}

/** A host between networks: an edge into each of its networks, labelled with its address there. */
function membershipEdges(
  place: Placement,
  options: BaseOptions,
  details: ConfigDetails,
  host: HostModel,
): string[] {
  const faded = options.highlight !== undefined && !options.highlight.has(host.name);
  const hostDepth = Math.min(...host.interfaces.map((i) => place.depth.get(i.network) ?? 0));
  return sortedInterfaces(host).map((iface) => {
    // Point the (undrawn) direction the way requests flow, so ranks follow it.
    const upstream = (place.depth.get(iface.network) ?? 0) > hostDepth;
    const cluster = clusterId(iface.network).slice(1, -1);
    const ends = upstream
      ? `${hostId(host.name)} -> ${networkAnchorId(iface.network)}`
      : `${networkExitId(iface.network)} -> ${hostId(host.name)}`;
    return `${ends}${attrs({
      ...(upstream ? { lhead: cluster } : { ltail: cluster }),
      dir: 'none',
      color: faded ? edgeColours.faded : edgeColours.membership,
      penwidth: 1.5,
      label: {
        html: markup.lines([
          markup.small(html(iface.address), faded ? '#94a3b8' : '#334155'),
          ...(details.bindRoutes.byHost.get(host.name)?.get(iface.address) ?? []).map(
            (line) => `<FONT POINT-SIZE="9" COLOR="#64748b">${html(line)}</FONT>`,
          ),
        ]),
      },
    })};`;
  });
}

/** A forwarding edge, from its host or (bundled) from its network's border. */
function forwardingEdge(drawn: DrawnForwarding): string {
  const from = drawn.from;
  const tail = from.kind === 'host' ? hostId(from.host) : networkExitId(from.network);
  return `${tail} -> ${upstreamId(drawn.to)}${attrs({
    ...(from.kind === 'network' ? { ltail: clusterId(from.network).slice(1, -1) } : {}),
    color: edgeColours.forwarding,
    penwidth: from.kind === 'network' ? 3 : 2,
    // The networks decide the layout; forwarding edges are drawn over it.
    constraint: false,
    arrowhead: 'vee',
    fontcolor: edgeColours.forwarding,
    label: { html: markup.lines(forwardingLines(drawn).map((l) => markup.small(html(l)))) },
  })};`;
}

/** A server the topology does not contain (a socks.conf entry, or a trace's step end). */
export function externalNode(name: string): string {
  return `${externalId(name)}${attrs({
    shape: 'box',
    style: 'dashed,filled',
    fillcolor: externalFill,
    color: edgeColours.membership,
    label: { html: markup.lines([markup.bold(html(name)), markup.small('not in this topology')]) },
  })};`;
}

/**
 * Rank rows of a network: its members in rows of at most ROW hosts, the entry anchor with the
 * first row and the exit anchor with the last, rows kept in order by invisible edges.
 */
function networkRows(network: string, members: readonly string[]): string[] {
  const rows: string[][] = [];
  for (let i = 0; i < members.length; i += ROW) rows.push(members.slice(i, i + ROW));
  if (rows.length === 0) rows.push([]);
  rows[0]!.unshift(networkAnchorId(network));
  rows[rows.length - 1]!.push(networkExitId(network));
  const out = rows.map((row) => `{ rank="same"; ${row.join('; ')}; }`);
  for (let i = 1; i < rows.length; i++)
    out.push(`${rows[i - 1]![0]} -> ${rows[i]![0]}${attrs({ style: 'invis' })};`);
  return out;
}

/** A note node per forwarding warning, and the edge that hangs it under its host. */
interface WarningNote {
  readonly host: string;
  readonly node: string;
  readonly edge: string;
}

function warningNotes(warnings: readonly ForwardingWarning[]): WarningNote[] {
  return warnings.map((warning, i) => {
    const id = dotId('note', `${warning.host}#${i}`);
    const node = `${id}${attrs({
      shape: 'note',
      style: 'filled',
      fillcolor: noteFill,
      color: edgeColours.warning,
      fontcolor: edgeColours.warning,
      label: { html: markup.lines(wrap(`⚠ ${warning.message}`, 44).map((l) => markup.small(html(l)))) },
    })};`;
    const edge = `${hostId(warning.host)} -> ${id}${attrs({ style: 'dashed', color: edgeColours.warning, arrowhead: 'none' })};`;
    return { host: warning.host, node, edge };
  });
}

/** Graph-wide defaults shared by the topology and trace diagrams. */
export function graphDefaults(label: string): string[] {
  return [
    `graph${attrs({
      rankdir: 'TB',
      compound: true,
      newrank: true,
      fontname: 'Helvetica',
      nodesep: 0.35,
      ranksep: 0.9,
      labelloc: 't',
      // Title and key at the top left, where a reader of a wide (scrolling) diagram starts.
      labeljust: 'l',
      label: { html: label },
    })};`,
    `node${attrs({ fontname: 'Helvetica', fontsize: 12, margin: '0.15,0.06' })};`,
    `edge${attrs({ fontname: 'Helvetica', fontsize: 10 })};`,
  ];
}

function swatch(fill: string, stroke: string, text: string): string {
  return `<TD BGCOLOR="${fill}" COLOR="${stroke}" BORDER="1" CELLPADDING="3">${markup.small(html(text))}</TD>`;
}

/** The title with a one-row key of roles and edge kinds: what a reader needs without asking. */
function topologyTitle(topology: ResolvedTopology): string {
  const roles = Object.values(roleStyles).map((s) => swatch(s.fill, s.stroke, s.caption));
  const lineKey = (colour: string, text: string) =>
    `<TD CELLPADDING="3"><FONT POINT-SIZE="10" COLOR="${colour}">${html(text)}</FONT></TD>`;
  const keys = [
    lineKey(edgeColours.membership, '── on network (address)'),
    lineKey(edgeColours.forwarding, '━▶ forwards to (socks.conf line, #order/of)'),
  ];
  const description =
    topology.description === undefined
      ? ''
      : `<TR><TD COLSPAN="${roles.length + keys.length}">${markup.small(html(topology.description))}</TD></TR>`;
  return `<TABLE BORDER="0" CELLSPACING="4"><TR><TD COLSPAN="${roles.length + keys.length}"><FONT POINT-SIZE="16"><B>${html(topology.name)}</B></FONT></TD></TR>${description}<TR>${roles.join('')}${keys.join('')}</TR></TABLE>`;
}

/** The topology diagram as DOT. Pure and deterministic. */
export function topologyDot(topology: ResolvedTopology): string {
  const { nodes, edges } = baseStatements(topology, { details: true });
  const body = [...graphDefaults(topologyTitle(topology)), ...nodes, ...edges];
  return `${block(`digraph ${dotId('topology', topology.name)}`, body).join('\n')}\n`;
}
