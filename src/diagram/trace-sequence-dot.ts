/**
 * The sequence view of a trace as DOT, for the HTML report (where Mermaid is not rendered):
 * a column per host (client → hops → destination), a dashed lifeline under each, and one row
 * per step, then the replies travelling back. Drawn with rank rows: row k holds one point per
 * lifeline, and step k is an edge between two of them.
 */
import { Socks4Reply } from '../scenario/replies.ts';
import type { Trace } from '../scenario/trace.ts';
import { attrs, block, dotId, html, markup } from './dot-syntax.ts';
import { edgeColours } from './palette.ts';
import type { TraceDiagramOptions } from './trace-dot.ts';
import {
  type MessageLook,
  type SequenceEvent,
  sequenceEvents,
  sequenceParticipants,
} from './trace-sequence.ts';
import { traceSummary } from './trace-steps.ts';

const looks: Record<MessageLook, Readonly<Record<string, string | number>>> = {
  arrival: { color: '#334155', fontcolor: '#0f172a', penwidth: 1.5 },
  granted: { color: edgeColours.granted, fontcolor: edgeColours.granted, penwidth: 2 },
  refused: { color: edgeColours.refused, fontcolor: edgeColours.refused, penwidth: 2 },
  identd: { color: edgeColours.identd, fontcolor: edgeColours.identd, style: 'dashed' },
  failed: { color: edgeColours.failedAttempt, fontcolor: '#6b7280', arrowhead: 'tee' },
  'reply-ok': { color: edgeColours.granted, fontcolor: edgeColours.granted, style: 'dashed' },
  'reply-refused': { color: edgeColours.refused, fontcolor: edgeColours.refused, style: 'dashed' },
};

const noteLooks = {
  granted: { fillcolor: '#dcfce7', color: edgeColours.granted, fontcolor: '#14532d' },
  refused: { fillcolor: '#fee2e2', color: edgeColours.refused, fontcolor: '#7f1d1d' },
} as const;

/**
 * The trace as a DOT sequence diagram: one row per event; a message is an edge between two
 * lifeline points of its row, a decision note replaces the point of its host's lifeline.
 */
export function traceSequenceDot(trace: Trace, options: TraceDiagramOptions = {}): string {
  const events = sequenceEvents(trace);
  const columns = sequenceParticipants(trace, events);
  const at = (column: string, row: number) => dotId(`r${row}`, column);
  const head = (column: string) => dotId('head', column);
  const rows = events.length + 1;
  const notes = new Map<string, Extract<SequenceEvent, { kind: 'note' }>>();
  events.forEach((e, i) => {
    if (e.kind === 'note') notes.set(at(e.at, i + 1), e);
  });

  const body: string[] = [];
  const heading = options.title === undefined ? '' : `${markup.bold(html(options.title))}<BR/>`;
  const colour = trace.reply === Socks4Reply.Granted ? edgeColours.granted : edgeColours.refused;
  body.push(
    `graph${attrs({
      rankdir: 'TB',
      newrank: true,
      fontname: 'Helvetica',
      labelloc: 't',
      labeljust: 'l',
      nodesep: 1.6,
      ranksep: 0.3,
      label: { html: `${heading}<FONT COLOR="${colour}">${html(traceSummary(trace))}</FONT>` },
    })};`,
    `node${attrs({ fontname: 'Helvetica', fontsize: 12 })};`,
    `edge${attrs({ fontname: 'Helvetica', fontsize: 10 })};`,
  );
  for (const column of columns) {
    body.push(
      `${head(column)}${attrs({
        shape: 'box',
        style: 'rounded,filled',
        fillcolor: '#e2e8f0',
        label: { html: markup.bold(html(column)) },
      })};`,
    );
    for (let row = 1; row <= rows; row++) {
      const id = at(column, row);
      const note = notes.get(id);
      body.push(
        note === undefined
          ? `${id}${attrs({ shape: 'point', width: 0.04, color: '#94a3b8' })};`
          : `${id}${attrs({ shape: 'box', style: 'filled', ...noteLooks[note.look], fontsize: 10, label: { html: html(note.text) } })};`,
      );
    }
    // Lifeline: the column's points in row order.
    const line = [head(column), ...Array.from({ length: rows }, (_, i) => at(column, i + 1))];
    body.push(
      `${line.join(' -> ')}${attrs({ style: 'dashed', color: '#94a3b8', arrowhead: 'none', weight: 100 })};`,
    );
  }
  // Keep columns in reading order: invisible edges along the header row.
  body.push(`{ rank="same"; ${columns.map(head).join('; ')}; }`);
  if (columns.length > 1) body.push(`${columns.map(head).join(' -> ')}${attrs({ style: 'invis' })};`);
  for (let row = 1; row <= rows; row++)
    body.push(`{ rank="same"; ${columns.map((c) => at(c, row)).join('; ')}; }`);
  events.forEach((e, i) => {
    if (e.kind !== 'message') return;
    body.push(
      `${at(e.from, i + 1)} -> ${at(e.to, i + 1)}${attrs({
        ...looks[e.look],
        constraint: false,
        label: { html: html(e.text) },
      })};`,
    );
  });
  return `${block(`digraph ${dotId('sequence', options.title ?? traceSummary(trace))}`, body).join('\n')}\n`;
}
