import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { mermaidId, mermaidText } from '../../../src/diagram/mermaid-syntax.ts';
import { topologyMermaid } from '../../../src/diagram/topology-mermaid.ts';
import { traceMermaid, traceSequenceMermaid } from '../../../src/diagram/trace-mermaid.ts';
import { type ParsedMermaid, parseMermaid } from '../../helpers/mermaid-parser.ts';
import { assertGolden, goldenDir } from './golden.ts';
import { awkwardFailover, seedCascade } from './topologies.ts';
import { grantedWithFailover, refusedByIdentdMismatch } from './traces.ts';

const specSocksConf = readFileSync(
  path.resolve(import.meta.dirname, '../../fixtures/spec/socks.conf'),
  'utf8',
);

test('Mermaid ids use only letters, digits and _, and never collide', (t) => {
  const names = ['end', 'a b', 'a_20_b', 'a_b', '"q"', 'ü'];
  const ids = names.map((n) => mermaidId('h', n));
  for (const id of ids) t.regex(id, /^h_[A-Za-z0-9_]*$/);
  t.is(new Set(ids).size, names.length);
});

test('Mermaid label text has syntax characters as entities', (t) => {
  t.is(mermaidText('a "b" #1; <c>|[d]:'), 'a #34;b#34; #35;1#59; #60;c#62;#124;#91;d#93;#58;');
});

test('the topology flowchart matches its golden file', (t) => {
  assertGolden(t, 'seed-cascade.topology.mmd', topologyMermaid(seedCascade()));
  assertGolden(t, 'awkward-failover.topology.mmd', topologyMermaid(awkwardFailover(specSocksConf)));
});

test('the trace flowchart and sequence diagram match their golden files', (t) => {
  assertGolden(t, 'seed-cascade.granted.trace.mmd', traceMermaid(seedCascade(), grantedWithFailover()));
  assertGolden(t, 'seed-cascade.refused.sequence.mmd', traceSequenceMermaid(refusedByIdentdMismatch()));
});

test('the topology flowchart puts single-homed hosts in their network and links multi-homed ones', async (t) => {
  const parsed = await parseMermaid(topologyMermaid(seedCascade()));
  if (parsed.kind !== 'flowchart') return t.fail(parsed.kind);
  t.like(
    parsed.subgraphs.find((s) => s.id === 'n_outside'),
    { title: 'outside  10.3.0.0/24', members: ['h_Z'] },
  );
  t.regex(parsed.nodes.get('h_Z')!, /^Z\necho :7\n10\.3\.0\.10$/);
  t.deepEqual(
    parsed.edges.filter((e) => e.from === 'h_B').map((e) => [e.to, e.text]),
    [
      ['n_dmz', '10.2.0.2'],
      ['n_inside', '10.1.0.1'],
      ['h_A', 'socks.conf:2 for any destination'],
    ],
  );
});

/** A parsed sequence line as `from->to: text` (messages) or `note at: text`. */
function sequenceLines(parsed: ParsedMermaid): string[] {
  if (parsed.kind !== 'sequence') return [];
  return parsed.lines.map((l) => {
    if (l.type === SequenceLine.note) return `note ${l.from}: ${l.text}`;
    if (l.type === SequenceLine.bandStart) return `band ${l.text}`;
    if (l.type === SequenceLine.bandEnd) return 'end band';
    return `${l.from}->${l.to}: ${l.text}`;
  });
}

/** Mermaid's line type numbers for the lines that are not messages. */
const SequenceLine = { note: 2, bandStart: 22, bandEnd: 23 } as const;

test('the sequence view reads client, hops, destination, with the decision after the identd answer', async (t) => {
  const parsed = await parseMermaid(traceSequenceMermaid(grantedWithFailover()));
  if (parsed.kind !== 'sequence') return t.fail(parsed.kind);
  t.deepEqual([...parsed.participants.values()], ['C', 'B', '10.2.0.9', 'A', 'Z']);
  t.deepEqual(sequenceLines(parsed), [
    'p_C->p_B: 1 x: connect Z:7',
    'p_B->p_C: 2 identd on C: says x ✓',
    'note p_B: permit sockd.conf:2, via server by socks.conf:2',
    'p_B->p_10_2e_2_2e_0_2e_9: 3 ✗ fail-over: 10.2.0.9 ECONNREFUSED',
    'p_B->p_A: 4 x: connect Z:7',
    'note p_A: permit sockd.conf:1',
    'p_A->p_Z: 5 connect Z:7',
    'p_A->p_B: reply 90 (granted)',
    'p_B->p_C: reply 90 (granted)',
  ]);
});

test('a refusal is a note in a red band in the sequence view', async (t) => {
  const lines = sequenceLines(await parseMermaid(traceSequenceMermaid(refusedByIdentdMismatch())));
  const at = lines.indexOf('note p_A: refused by sockd.conf:3 (identd-mismatch)');
  t.deepEqual(lines.slice(at - 1, at + 2), [
    'band rgb(254, 226, 226)',
    'note p_A: refused by sockd.conf:3 (identd-mismatch)',
    'end band',
  ]);
});

test('the golden Mermaid files are diagrams Mermaid itself parses', async (t) => {
  for (const name of [
    'seed-cascade.topology.mmd',
    'awkward-failover.topology.mmd',
    'seed-cascade.granted.trace.mmd',
    'seed-cascade.refused.sequence.mmd',
  ]) {
    const text = readFileSync(path.join(goldenDir, name), 'utf8');
    await t.notThrowsAsync(parseMermaid(text), name);
  }
});
