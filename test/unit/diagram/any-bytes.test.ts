/**
 * Whatever bytes a peer sends (an identd answer is the obvious one) end up as text in a DOT,
 * Mermaid or HTML document. Each target language has one escaping function; these properties
 * check that no string, however broken, can break the document around it.
 */
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { attrs, dotId, html } from '../../../src/diagram/dot-syntax.ts';
import { mermaidLines, mermaidText } from '../../../src/diagram/mermaid-syntax.ts';
import { renderSvg } from '../../../src/diagram/render-svg.ts';
import { topologyDot } from '../../../src/diagram/topology-dot.ts';
import { topologyMermaid } from '../../../src/diagram/topology-mermaid.ts';
import { traceDot } from '../../../src/diagram/trace-dot.ts';
import { traceMermaid, traceSequenceMermaid } from '../../../src/diagram/trace-mermaid.ts';
import { traceSequenceDot } from '../../../src/diagram/trace-sequence-dot.ts';
import { xmlEscape } from '../../../src/report/xml.ts';
import type { Trace } from '../../../src/scenario/trace.ts';
import type { ResolvedTopology } from '../../../src/topology/model.ts';
import { type ParsedMermaid, parseMermaid } from '../../helpers/mermaid-parser.ts';
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

/** What a label shows of `text`: control characters as blanks, no-characters as U+FFFD. */
const shown = (text: string) =>
  text
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    .replace(/[^\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD');
const flat = (text: string) => text.replace(/\s+/g, ' ').trim();

/** The parsed diagram without its texts: which nodes, edges, participants and lines it has. */
function skeleton(parsed: ParsedMermaid): unknown {
  if (parsed.kind === 'flowchart')
    return {
      nodes: [...parsed.nodes.keys()],
      edges: parsed.edges.map((e) => [e.from, e.to]),
      subgraphs: parsed.subgraphs.map((s) => [s.id, s.members.length]),
    };
  return {
    participants: [...parsed.participants.keys()],
    lines: parsed.lines.map((l) => [l.from, l.to, l.type]),
  };
}

function texts(parsed: ParsedMermaid): string[] {
  if (parsed.kind === 'flowchart')
    return [
      ...parsed.nodes.values(),
      ...parsed.edges.map((e) => e.text),
      ...parsed.subgraphs.map((s) => s.title),
    ];
  return [parsed.title, ...parsed.participants.values(), ...parsed.lines.map((l) => l.text)];
}

/** Mermaid syntax that must stay text inside a label, on top of the bytes above. */
const mermaidNasty = fc.constantFrom(
  '%%',
  'end',
  '-->',
  '---|',
  ':::',
  'style:a#',
  'classDef x:#',
  'wrap:',
  '#35;',
  '<br/>',
  '"',
  '\n',
);
const anyName = fc.oneof(
  anyText,
  fc.array(mermaidNasty, { minLength: 1, maxLength: 6 }).map((a) => a.join(' ')),
);

test('Mermaid parses both diagrams of a trace whatever bytes the identd answered, and shows the answer as sent', async (t) => {
  const topology = seedCascade();
  const plain = traceWithAnswer('plain');
  const flow = skeleton(await parseMermaid(traceMermaid(topology, plain)));
  const sequence = skeleton(await parseMermaid(traceSequenceMermaid(plain)));
  await t.notThrowsAsync(
    fc.assert(
      fc.asyncProperty(anyName, async (text) => {
        const trace = traceWithAnswer(text);
        for (const [parsed, expected] of [
          [await parseMermaid(traceMermaid(topology, trace)), flow],
          [await parseMermaid(traceSequenceMermaid(trace)), sequence],
        ] as const) {
          assert.deepStrictEqual(skeleton(parsed), expected);
          const all = flat(texts(parsed).join('\n'));
          assert.ok(
            all.includes(flat(`unusable answer "${shown(text)}"`)),
            `answer not shown as sent: ${all}`,
          );
        }
      }),
      { numRuns: 60, examples: [['\u0000'], ['\u00ff\u007f'], ['%% end -->'], ['style:a#34;b'], ['"}<\n']] },
    ),
  );
});

/** seedCascade with host A, network dmz and user x renamed to (prefixed) `text`, and its refused trace to match. */
function renamed(text: string): {
  topology: ResolvedTopology;
  trace: Trace;
  host: string;
  network: string;
  user: string;
} {
  const host = `A${text}`;
  const network = `dmz${text}`;
  const user = `x${text}`;
  const base = seedCascade();
  const topology: ResolvedTopology = {
    ...base,
    name: text,
    networks: base.networks.map((n) => (n.name === 'dmz' ? { ...n, name: network } : n)),
    hosts: base.hosts.map((h) => ({
      ...h,
      name: h.name === 'A' ? host : h.name,
      interfaces: h.interfaces.map((i) => (i.network === 'dmz' ? { ...i, network } : i)),
    })),
  };
  const ref = (name: string) => (name === 'A' ? host : name);
  const old = refusedByIdentdMismatch();
  const trace: Trace = {
    ...old,
    origin: { ...old.origin, user },
    path: old.path.map(ref),
    hops: old.hops.map((h) => ({
      ...h,
      host: ref(h.host),
      from: ref(h.from),
      user,
      ...(h.outbound ? { outbound: { ...h.outbound, to: ref(h.outbound.to) } } : {}),
    })),
  };
  return { topology, trace, host, network, user };
}

test('Mermaid parses the topology and both trace diagrams whatever the host, network and user names are', async (t) => {
  await t.notThrowsAsync(
    fc.assert(
      fc.asyncProperty(anyName, async (text) => {
        const { topology, trace, host, network, user } = renamed(text);
        const map = await parseMermaid(topologyMermaid(topology));
        assert.ok(map.kind === 'flowchart');
        // Every host a node, every network a subgraph, each labelled with its own name.
        const hostNodes = [...map.nodes].filter(([id]) => id.startsWith('h_')).map(([, label]) => label);
        assert.strictEqual(hostNodes.length, topology.hosts.length);
        assert.ok(
          hostNodes.some((label) => flat(label.split('\n')[0]!) === flat(shown(host))),
          JSON.stringify(hostNodes),
        );
        assert.strictEqual(map.subgraphs.length, topology.networks.length);
        assert.ok(
          map.subgraphs.some((s) => flat(s.title).startsWith(flat(shown(network)))),
          JSON.stringify(map.subgraphs),
        );
        const flow = await parseMermaid(traceMermaid(topology, trace));
        const sequence = await parseMermaid(traceSequenceMermaid(trace));
        assert.ok(flat(texts(flow).join('\n')).includes(flat(shown(user))));
        assert.ok(sequence.kind === 'sequence');
        assert.ok([...sequence.participants.values()].map(flat).includes(flat(shown(host))), host);
        assert.strictEqual(sequence.participants.size, 4);
      }),
      {
        numRuns: 40,
        // \u00a0: the sanitizer's HTML serialisation hands it back as &nbsp; (found by a CI run)
        examples: [['end'], ['%%'], [' --> x'], ['\u0000\u00ff'], ['wrap:'], ['style:#1;'], ['\u00a0']],
      },
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
