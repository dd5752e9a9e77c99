/**
 * Whatever bytes a peer sends (an identd answer is the obvious one) end up as text in a DOT,
 * Mermaid or HTML document. Each target language has one escaping function; these properties
 * check that no string, however broken, can break the document around it.
 */
import test from 'ava';
import fc from 'fast-check';
import { attrs, dotId, html } from '../../../src/diagram/dot-syntax.ts';
import { mermaidLines, mermaidText } from '../../../src/diagram/mermaid-syntax.ts';
import { renderSvg } from '../../../src/diagram/render-svg.ts';
import { topologyDot } from '../../../src/diagram/topology-dot.ts';
import { traceDot } from '../../../src/diagram/trace-dot.ts';
import { traceMermaid, traceSequenceMermaid } from '../../../src/diagram/trace-mermaid.ts';
import { traceSequenceDot } from '../../../src/diagram/trace-sequence-dot.ts';
import { xmlEscape } from '../../../src/report/xml.ts';
import type { Trace } from '../../../src/scenario/trace.ts';
import { seedCascade } from './topologies.ts';
import { refusedByIdentdMismatch } from './traces.ts';

/** Bytes read as Latin-1 and as UTF-8 (the two ways a wire answer becomes a string), and raw UTF-16. */
const nasty = [
  '\u0000',
  '\u00ff',
  '\u007f',
  '"',
  '\\',
  '{',
  '}',
  '<',
  '>',
  '&',
  '\n',
  '\r',
  ';',
  '#',
  '|',
  '[',
  ']',
];
const anyText = fc.oneof(
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('utf8')),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.array(fc.constantFrom(...nasty), { maxLength: 20 }).map((a) => a.join('')),
);

/** The refused trace of the seed cascade, with `text` as the identd answer and user at A. */
function traceWithAnswer(text: string): Trace {
  const base = refusedByIdentdMismatch();
  const [b, a] = base.hops;
  return {
    ...base,
    hops: [
      b!,
      { ...a!, user: text, identd: { queried: 'B', answer: text, user: null, verdict: 'unavailable' } },
    ],
  };
}

/** Characters XML 1.0 forbids; an SVG holding one is not a well-formed document. */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

test('Graphviz renders every diagram of a trace whatever bytes the identd answered', async (t) => {
  const topology = seedCascade();
  await t.notThrowsAsync(
    fc.assert(
      fc.asyncProperty(anyText, async (text) => {
        const trace = traceWithAnswer(text);
        for (const dot of [
          traceDot(topology, trace, { title: text }),
          traceSequenceDot(trace, { title: text }),
        ]) {
          const svg = await renderSvg(dot);
          if (!svg.includes('</svg>')) return false;
          if (NOT_XML.test(svg)) return false;
        }
        return true;
      }),
      { numRuns: 150, examples: [['\u0000'], ['\u00ff\u007f'], ['x\\'], ['"}<\n']] },
    ),
  );
});

test('Graphviz renders a topology whose names and descriptions are any text', async (t) => {
  const base = seedCascade();
  await t.notThrowsAsync(
    fc.assert(
      fc.asyncProperty(anyText, anyText, async (name, description) => {
        const topology = {
          ...base,
          name,
          description,
          hosts: base.hosts.map((h, i) => (i === 0 ? { ...h, description } : h)),
        };
        const svg = await renderSvg(topologyDot(topology));
        return svg.includes('</svg>') && !NOT_XML.test(svg);
      }),
      { numRuns: 60 },
    ),
  );
});

test('DOT escaping keeps any text inside its quotes or its label', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(anyText, (text) => {
        const escaped = html(text);
        // No markup, no control character, no character Graphviz cannot carry into SVG.
        if (/[<>"\u0000-\u001f\u007f]/.test(escaped) || NOT_XML.test(escaped)) return false;
        if (/&(?!(amp|lt|gt|quot);)/.test(escaped)) return false;
        const attr = attrs({ tooltip: text });
        // exactly one quoted value: the opening and the closing quote, nothing that ends it early
        if (!/^ \[tooltip="[^"\\\u0000-\u001f]*"\]$/.test(attr) || NOT_XML.test(attr)) return false;
        return /^"h:[A-Za-z0-9_.~;-]*"$/.test(dotId('h', text));
      }),
      { numRuns: 500 },
    ),
  );
});

test('Mermaid escaping leaves no syntax character and no line break in a label', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(anyText, (text) => {
        const escaped = mermaidText(text);
        // Only safe ASCII, entities, and printable non-ASCII characters remain.
        const rest = escaped.replace(/#\d+;/g, '');
        if (/[^A-Za-z0-9 .,:/@=+*()\-?!'\u0080-\uFFFF\u{10000}-\u{10FFFF}]/u.test(rest)) return false;
        if (
          /[\u0080-\u009f\uD800-\uDFFF\uFFFE\uFFFF]/.test(rest.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))
        )
          return false;
        return !mermaidLines([text, text]).includes('\n');
      }),
      { numRuns: 500 },
    ),
  );
});

test('Mermaid diagrams of a trace keep their shape whatever bytes the identd answered', (t) => {
  // Mermaid's own flowchart/sequence parser is not installed (see README, Diagrams): the shape
  // check is that the diagram has the same lines, the same statements, as for a plain answer.
  const topology = seedCascade();
  const shape = (text: string) => text.split('\n').map((line) => line.replace(/"[^"\n]*"|:[^\n]*$/g, '…'));
  const plain = traceWithAnswer('plain');
  const flow = shape(traceMermaid(topology, plain));
  const sequence = shape(traceSequenceMermaid(plain));
  t.notThrows(() =>
    fc.assert(
      fc.property(anyText, (text) => {
        const trace = traceWithAnswer(text);
        const a = shape(traceMermaid(topology, trace));
        const b = shape(traceSequenceMermaid(trace));
        return JSON.stringify(a) === JSON.stringify(flow) && JSON.stringify(b) === JSON.stringify(sequence);
      }),
      { numRuns: 300 },
    ),
  );
});

test('HTML and XML escaping leaves no markup and no character XML forbids', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(anyText, (text) => {
        const escaped = xmlEscape(text);
        if (/[<>"']/.test(escaped) || NOT_XML.test(escaped)) return false;
        return !/&(?!(amp|lt|gt|quot|apos);)/.test(escaped);
      }),
      { numRuns: 500 },
    ),
  );
});
