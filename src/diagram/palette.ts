/**
 * How things look. One table per kind of thing, so the DOT and Mermaid writers and the legend
 * cannot disagree about what a colour means.
 */
import type { Role } from '../topology/model.ts';

export interface RoleStyle {
  /** Graphviz node shape. */
  readonly shape: string;
  readonly fill: string;
  readonly stroke: string;
  /** Extra Graphviz node style (always filled). */
  readonly style: string;
  /** What the legend calls it. */
  readonly caption: string;
}

export const roleStyles = {
  // the user's workstation: where requests start
  client: { shape: 'box', fill: '#dbeafe', stroke: '#1d4ed8', style: 'rounded,filled', caption: 'client' },
  // relays onwards by socks.conf: the interesting, chainable box
  rsockd: {
    shape: 'hexagon',
    fill: '#fde68a',
    stroke: '#b45309',
    style: 'filled',
    caption: 'rsockd (forwards)',
  },
  // terminal server: always connects directly
  sockd: { shape: 'octagon', fill: '#fed7aa', stroke: '#c2410c', style: 'filled', caption: 'sockd (direct)' },
  // only answers identd queries
  'identd-only': {
    shape: 'ellipse',
    fill: '#ede9fe',
    stroke: '#6d28d9',
    style: 'filled',
    caption: 'identd only',
  },
  // destination services
  echo: {
    shape: 'box3d',
    fill: '#dcfce7',
    stroke: '#15803d',
    style: 'filled',
    caption: 'destination (echo)',
  },
} as const satisfies Record<Role, RoleStyle>;

/** Colours of edges, by meaning. */
export const edgeColours = {
  // a host sitting on a network
  membership: '#64748b',
  // rsockd -> upstream server named in its socks.conf
  forwarding: '#b45309',
  // a warning note (unparsable socks.conf, unknown upstream)
  warning: '#b91c1c',
  // trace: the hop accepted the request
  granted: '#15803d',
  // trace: the hop refused it
  refused: '#dc2626',
  // trace: an identd query
  identd: '#2563eb',
  // trace: a fail-over attempt that could not connect
  failedAttempt: '#9ca3af',
  // trace: hosts and networks the request did not touch
  faded: '#cbd5e1',
} as const;

/** Fill of a network cluster. */
export const networkFill = '#f8fafc';
export const networkStroke = '#94a3b8';
/** Fill of things that are named by configs but not in the topology. */
export const externalFill = '#f1f5f9';
export const noteFill = '#fee2e2';
