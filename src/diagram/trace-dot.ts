/**
 * A trace drawn over its topology: the hosts it touched at full strength, the rest faded, and
 * numbered edges for each step: green where a hop granted, red where it refused (with the rule's
 * file:line), dashed blue identd queries labelled with the answer, grey crossed edges for
 * fail-over attempts that could not connect.
 */
import { Socks4Reply } from '../scenario/replies.ts';
import type { Trace } from '../scenario/trace.ts';
import type { ResolvedTopology } from '../topology/model.ts';
import { attrs, block, dotId, html, markup } from './dot-syntax.ts';
import { edgeColours } from './palette.ts';
import { baseStatements, externalId, externalNode, graphDefaults, hostId } from './topology-dot.ts';
import { HostIndex } from './topology-facts.ts';
import { type StepStatus, type TraceStep, traceSteps, traceSummary } from './trace-steps.ts';

export interface TraceDiagramOptions {
  /** Heading, e.g. the scenario case name. */
  readonly title?: string;
}

const stepLook: Record<StepStatus, Readonly<Record<string, string | number>>> = {
  granted: { color: edgeColours.granted, fontcolor: edgeColours.granted, penwidth: 2.5 },
  refused: { color: edgeColours.refused, fontcolor: edgeColours.refused, penwidth: 2.5 },
  identd: { color: edgeColours.identd, fontcolor: edgeColours.identd, style: 'dashed', penwidth: 1.5 },
  failed: {
    color: edgeColours.failedAttempt,
    fontcolor: '#6b7280',
    arrowhead: 'tee',
    penwidth: 2,
    style: 'bold',
  },
};

/** Resolves the names a trace uses to diagram node ids; unknown ones become external nodes. */
export class StepEnds {
  private readonly index: HostIndex;
  readonly externals = new Set<string>();
  constructor(topology: ResolvedTopology) {
    this.index = new HostIndex(topology);
  }
  host(ref: string): string | undefined {
    return this.index.find(ref)?.name;
  }
  id(ref: string): string {
    const host = this.host(ref);
    if (host !== undefined) return hostId(host);
    this.externals.add(ref);
    return externalId(ref);
  }
}

/**
 * On an edge only the step's number: in a busy case map long edge labels ran over each other
 * and over hosts. The words go into the numbered key under the title, where a table row is
 * sized for them.
 */
function stepNumber(step: TraceStep): string {
  return markup.bold(String(step.n));
}

const keyColours: Record<StepStatus, string> = {
  granted: edgeColours.granted,
  refused: edgeColours.refused,
  identd: edgeColours.identd,
  failed: '#6b7280',
};

function stepKey(steps: readonly TraceStep[]): string {
  return steps
    .map((step) => {
      const text =
        step.cite === undefined || step.label.includes(step.cite)
          ? step.label
          : `${step.label} (${step.cite})`;
      return `<TR><TD ALIGN="RIGHT" VALIGN="TOP">${markup.small(markup.bold(String(step.n)), keyColours[step.status])}</TD><TD ALIGN="LEFT" COLSPAN="4">${markup.small(html(text), keyColours[step.status])}</TD></TR>`;
    })
    .join('');
}

function legend(): string {
  const key = (colour: string, text: string) =>
    `<TD CELLPADDING="2"><FONT POINT-SIZE="10" COLOR="${colour}">${html(text)}</FONT></TD>`;
  return `<TR><TD></TD>${[
    key(edgeColours.granted, '━▶ granted'),
    key(edgeColours.refused, '━▶ refused (rule file:line)'),
    key(edgeColours.identd, '╌▶ identd query: answer'),
    key('#6b7280', '━┤ fail-over attempt failed'),
  ].join('')}</TR>`;
}

function title(trace: Trace, steps: readonly TraceStep[], options: TraceDiagramOptions): string {
  const heading =
    options.title === undefined
      ? ''
      : `<TR><TD COLSPAN="5" ALIGN="LEFT"><FONT POINT-SIZE="16"><B>${html(options.title)}</B></FONT></TD></TR>`;
  const colour = trace.reply === Socks4Reply.Granted ? edgeColours.granted : edgeColours.refused;
  return `<TABLE BORDER="0" CELLSPACING="2">${heading}<TR><TD COLSPAN="5" ALIGN="LEFT"><FONT COLOR="${colour}">${html(traceSummary(trace))}</FONT></TD></TR>${legend()}${stepKey(steps)}</TABLE>`;
}

/** The hosts a trace touches: origin, every hop, identd hosts, attempted servers, destination. */
export function touchedHosts(trace: Trace, ends: StepEnds): Set<string> {
  const refs = [trace.origin.host, ...trace.path, ...traceSteps(trace).flatMap((s) => [s.from, s.to])];
  const hosts = new Set<string>();
  for (const ref of refs) {
    const host = ends.host(ref);
    if (host !== undefined) hosts.add(host);
  }
  return hosts;
}

/** The trace overlay as DOT. Pure and deterministic. */
export function traceDot(
  topology: ResolvedTopology,
  trace: Trace,
  options: TraceDiagramOptions = {},
): string {
  const ends = new StepEnds(topology);
  const base = baseStatements(topology, { details: false, highlight: touchedHosts(trace, ends) });
  const steps = traceSteps(trace);
  const overlay = steps.map(
    (step) =>
      `${ends.id(step.from)} -> ${ends.id(step.to)}${attrs({
        ...stepLook[step.status],
        constraint: false,
        label: { html: stepNumber(step) },
        tooltip: step.cite === undefined ? step.label : `${step.label} (${step.cite})`,
      })};`,
  );
  const externals = [...ends.externals].sort().map(externalNode);
  const body = [
    ...graphDefaults(title(trace, steps, options)),
    ...base.nodes,
    ...externals,
    ...base.edges,
    ...overlay,
  ];
  return `${block(`digraph ${dotId('trace', options.title ?? topology.name)}`, body).join('\n')}\n`;
}
