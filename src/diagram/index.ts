/**
 * Diagrams of topologies and traces: DOT (deterministic), SVG (rendered in-process), Mermaid.
 * Everything but the SVG rendering is pure: model in, string out.
 */
import type { Trace } from '../scenario/trace.ts';
import type { ResolvedTopology } from '../topology/model.ts';
import { renderSvg } from './render-svg.ts';
import { topologyDot } from './topology-dot.ts';
import { type TraceDiagramOptions, traceDot } from './trace-dot.ts';
import { traceSequenceDot } from './trace-sequence-dot.ts';

export { type Forwarding, type ForwardingEdge, forwarding } from './forwarding.ts';
export { inlineSvg, renderSvg } from './render-svg.ts';
export { topologyDot } from './topology-dot.ts';
export { topologyMermaid } from './topology-mermaid.ts';
export { type TraceDiagramOptions, traceDot } from './trace-dot.ts';
export { traceMermaid, traceSequenceMermaid } from './trace-mermaid.ts';
export { traceSequenceDot } from './trace-sequence-dot.ts';
export { type TraceStep, traceSteps, traceSummary } from './trace-steps.ts';

export function renderTopologySvg(topology: ResolvedTopology): Promise<string> {
  return renderSvg(topologyDot(topology));
}

export function renderTraceSvg(
  topology: ResolvedTopology,
  trace: Trace,
  options: TraceDiagramOptions = {},
): Promise<string> {
  return renderSvg(traceDot(topology, trace, options));
}

export function renderTraceSequenceSvg(trace: Trace, options: TraceDiagramOptions = {}): Promise<string> {
  return renderSvg(traceSequenceDot(trace, options));
}
