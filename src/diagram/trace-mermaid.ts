/**
 * Traces in Mermaid for Markdown: a flowchart of the hosts the request touched with the same
 * numbered, coloured steps as the DOT overlay, and a `sequenceDiagram` reading client → hops →
 * destination, with the replies travelling back.
 */
import { Socks4Reply } from '../scenario/replies.ts';
import type { Trace } from '../scenario/trace.ts';
import type { HostModel, ResolvedTopology } from '../topology/model.ts';
import { mermaidId, mermaidLines, mermaidText } from './mermaid-syntax.ts';
import { edgeColours } from './palette.ts';
import { HostIndex } from './topology-facts.ts';
import { mermaidExternalId, mermaidHostId, mermaidHostNode, mermaidRoleClasses } from './topology-mermaid.ts';
import { type MessageLook, sequenceEvents, sequenceParticipants } from './trace-sequence.ts';
import { type StepStatus, traceSteps, traceSummary } from './trace-steps.ts';

const arrows: Record<StepStatus, string> = {
  granted: '-->',
  refused: '-->',
  identd: '-.->',
  failed: '--x',
};

const strokes: Record<StepStatus, string> = {
  granted: `stroke:${edgeColours.granted},stroke-width:2.5px`,
  refused: `stroke:${edgeColours.refused},stroke-width:2.5px`,
  identd: `stroke:${edgeColours.identd},stroke-dasharray:4 3`,
  failed: `stroke:${edgeColours.failedAttempt},stroke-width:2px`,
};

/** The trace as a Mermaid flowchart of the hosts it touched. Pure and deterministic. */
export function traceMermaid(topology: ResolvedTopology, trace: Trace): string {
  const index = new HostIndex(topology);
  const steps = traceSteps(trace);
  const hosts = new Map<string, HostModel>();
  const externals = new Set<string>();
  const idOf = (ref: string): string => {
    const host = index.find(ref);
    if (host === undefined) {
      externals.add(ref);
      return mermaidExternalId(ref);
    }
    hosts.set(host.name, host);
    return mermaidHostId(host.name);
  };
  idOf(trace.origin.host);
  const links = steps.map(
    (step) =>
      `${idOf(step.from)} ${arrows[step.status]}|"${mermaidText(`${step.n} ${step.label}`)}"| ${idOf(step.to)}`,
  );
  const sorted = [...hosts.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  const lines = [
    'flowchart LR',
    `  title_["${mermaidText(traceSummary(trace))}"]:::title_`,
    ...sorted.map((h) => `  ${mermaidHostNode(h)}`),
    ...[...externals]
      .sort()
      .map((x) => `  ${mermaidExternalId(x)}["${mermaidLines([x, 'not in this topology'])}"]`),
    ...links.map((l) => `  ${l}`),
    ...steps.map((step, i) => `  linkStyle ${i} ${strokes[step.status]}`),
    ...mermaidRoleClasses(sorted).map((l) => `  ${l}`),
    `  classDef title_ fill:none,stroke:none,color:${trace.reply === Socks4Reply.Granted ? edgeColours.granted : edgeColours.refused}`,
  ];
  return `${lines.join('\n')}\n`;
}

const sequenceArrows: Record<MessageLook, string> = {
  arrival: '->>',
  granted: '->>',
  refused: '-x',
  identd: '-->>',
  failed: '-x',
  'reply-ok': '-->>',
  'reply-refused': '--x',
};

/**
 * The trace as a Mermaid `sequenceDiagram`: client → hops → destination, each decision as a note
 * citing its rule (refusals in a red band), then each hop's reply back to its client.
 */
export function traceSequenceMermaid(trace: Trace): string {
  const events = sequenceEvents(trace);
  const pid = (name: string) => mermaidId('p', name);
  const lines = ['sequenceDiagram', `  title ${mermaidText(traceSummary(trace))}`];
  for (const name of sequenceParticipants(trace, events))
    lines.push(`  participant ${pid(name)} as ${mermaidText(name)}`);
  for (const e of events) {
    if (e.kind === 'message') {
      lines.push(`  ${pid(e.from)}${sequenceArrows[e.look]}${pid(e.to)}: ${mermaidText(e.text)}`);
    } else if (e.look === 'refused') {
      // A red band makes the refusing step findable at a glance.
      lines.push('  rect rgb(254, 226, 226)', `  Note over ${pid(e.at)}: ${mermaidText(e.text)}`, '  end');
    } else {
      lines.push(`  Note over ${pid(e.at)}: ${mermaidText(e.text)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
