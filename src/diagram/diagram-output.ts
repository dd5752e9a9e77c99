/**
 * Which diagram a `sockslab graph` invocation asks for, as one function: format from the output
 * file's extension (or an explicit one), topology or trace, map or sequence view.
 */
import { InputError } from '../common/errors.ts';
import type { Trace } from '../scenario/trace.ts';
import type { ResolvedTopology } from '../topology/model.ts';
import { forwarding } from './forwarding.ts';
import { interfaceRoutes } from './interface-routes.ts';
import { renderSvg } from './render-svg.ts';
import { topologyDot } from './topology-dot.ts';
import { topologyMermaid } from './topology-mermaid.ts';
import { traceDot } from './trace-dot.ts';
import { traceMermaid, traceSequenceMermaid } from './trace-mermaid.ts';
import { traceSequenceDot } from './trace-sequence-dot.ts';

export const DiagramFormats = ['dot', 'svg', 'mmd'] as const;
export type DiagramFormat = (typeof DiagramFormats)[number];

/** Output file extensions and the format each means. */
const extensions: Readonly<Record<string, DiagramFormat>> = {
  '.dot': 'dot',
  '.gv': 'dot',
  '.svg': 'svg',
  '.mmd': 'mmd',
  '.mermaid': 'mmd',
};

/** The format for an output path; throws naming the known extensions. */
export function formatForPath(file: string): DiagramFormat {
  const dot = file.lastIndexOf('.');
  const ext = dot < 0 ? '' : file.slice(dot).toLowerCase();
  const format = extensions[ext];
  if (format === undefined) {
    throw new InputError(
      'E_GRAPH_FORMAT',
      `cannot tell the diagram format from "${file}"; use one of ${Object.keys(extensions).join(', ')}`,
    );
  }
  return format;
}

export interface DiagramRequest {
  readonly format: DiagramFormat;
  /** Draw this trace over the topology instead of the topology alone. */
  readonly trace?: { readonly trace: Trace; readonly title: string };
  /** For a trace: the sequence view (client → hops → destination) instead of the map. */
  readonly sequence?: boolean;
}

/** What the diagram will show as warning notes (configs that do not parse, missing default servers). */
export function diagramWarnings(topology: ResolvedTopology): string[] {
  return [...forwarding(topology).warnings, ...interfaceRoutes(topology).warnings].map(
    (w) => `${w.host}: ${w.message}`,
  );
}

/** The diagram text (DOT, SVG or Mermaid) for a request. */
export async function diagram(topology: ResolvedTopology, request: DiagramRequest): Promise<string> {
  const trace = request.trace;
  if (request.format === 'mmd') {
    if (trace === undefined) return topologyMermaid(topology);
    return request.sequence ? traceSequenceMermaid(trace.trace) : traceMermaid(topology, trace.trace);
  }
  let dot: string;
  if (trace === undefined) dot = topologyDot(topology);
  else if (request.sequence) dot = traceSequenceDot(trace.trace, { title: trace.title });
  else dot = traceDot(topology, trace.trace, { title: trace.title });
  return request.format === 'dot' ? dot : renderSvg(dot);
}
