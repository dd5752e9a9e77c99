/**
 * Every diagram of a run (topology SVG; per case its map and its sequence as SVG and its map as
 * Mermaid text), each made on
 * its own: one diagram that cannot be drawn is reported by name and never takes the others with
 * it.
 */
import type { Trace } from '../scenario/trace.ts';
import type { ResolvedTopology } from '../topology/model.ts';
import { renderSvg } from './render-svg.ts';
import { topologyDot } from './topology-dot.ts';
import { traceDot } from './trace-dot.ts';
import { traceMermaid } from './trace-mermaid.ts';
import { traceSequenceDot } from './trace-sequence-dot.ts';

/** A diagram that could not be made: which one, and why. */
export interface DiagramFailure {
  /** `topology.svg`, or `<case name> (svg)` / `<case name> (sequence svg)` / `<case name> (mermaid)`. */
  readonly diagram: string;
  readonly error: string;
}

export interface RunDiagrams {
  readonly topologySvg: string | undefined;
  /** Per case name: the trace drawn over the topology. */
  readonly caseSvgs: ReadonlyMap<string, string>;
  /** Per case name: the trace as a sequence (client → hops → destination). */
  readonly sequenceSvgs: ReadonlyMap<string, string>;
  readonly mermaid: ReadonlyMap<string, string>;
  readonly failures: readonly DiagramFailure[];
}

/** How each kind of diagram is made; tests swap one to prove the others survive its failure. */
export interface DiagramMakers {
  readonly topologySvg: (topology: ResolvedTopology) => Promise<string>;
  readonly traceSvg: (topology: ResolvedTopology, trace: Trace) => Promise<string>;
  readonly sequenceSvg: (trace: Trace) => Promise<string>;
  readonly traceMermaid: (topology: ResolvedTopology, trace: Trace) => string;
}

export const defaultMakers: DiagramMakers = {
  topologySvg: (topology) => renderSvg(topologyDot(topology)),
  traceSvg: (topology, trace) => renderSvg(traceDot(topology, trace)),
  sequenceSvg: (trace) => renderSvg(traceSequenceDot(trace)),
  traceMermaid,
};

export async function runDiagrams(
  topology: ResolvedTopology,
  cases: readonly { readonly name: string; readonly trace: Trace }[],
  makers: DiagramMakers = defaultMakers,
): Promise<RunDiagrams> {
  const failures: DiagramFailure[] = [];
  const attempt = async <T>(diagram: string, make: () => T | Promise<T>): Promise<T | undefined> => {
    try {
      return await make();
    } catch (err) {
      failures.push({ diagram, error: err instanceof Error ? err.message : String(err) });
      return undefined;
    }
  };
  const topologySvg = await attempt('topology.svg', () => makers.topologySvg(topology));
  const caseSvgs = new Map<string, string>();
  const sequenceSvgs = new Map<string, string>();
  const mermaid = new Map<string, string>();
  for (const c of cases) {
    const svg = await attempt(`${c.name} (svg)`, () => makers.traceSvg(topology, c.trace));
    if (svg !== undefined) caseSvgs.set(c.name, svg);
    const sequence = await attempt(`${c.name} (sequence svg)`, () => makers.sequenceSvg(c.trace));
    if (sequence !== undefined) sequenceSvgs.set(c.name, sequence);
    const text = await attempt(`${c.name} (mermaid)`, () => makers.traceMermaid(topology, c.trace));
    if (text !== undefined) mermaid.set(c.name, text);
  }
  return { topologySvg, caseSvgs, sequenceSvgs, mermaid, failures };
}
