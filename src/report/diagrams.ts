import type { CaseReport } from './model.ts';

/**
 * Diagrams come from the diagram module; report stays pure and independent of it, so the CLI
 * passes finished SVG/Mermaid text (or functions producing it) in through these hooks.
 */
export interface DiagramHooks {
  /** Inline SVG of the whole topology. */
  readonly topologySvg?: string;
  /** Inline SVG of one case's trace drawn over the topology (the case map). */
  readonly caseSvg?: (c: CaseReport) => string | undefined;
  /** Inline SVG of one case's trace as a sequence: client → hops → destination and back. */
  readonly caseSequenceSvg?: (c: CaseReport) => string | undefined;
  /** Mermaid text of one case's trace (for summary.md). */
  readonly caseMermaid?: (c: CaseReport) => string | undefined;
}
