import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { mermaidId, mermaidText } from '../../../src/diagram/mermaid-syntax.ts';
import { topologyMermaid } from '../../../src/diagram/topology-mermaid.ts';
import { traceMermaid, traceSequenceMermaid } from '../../../src/diagram/trace-mermaid.ts';
import { assertGolden } from './golden.ts';
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
  t.is(mermaidText('a "b" #1; <c>|[d]'), 'a #34;b#34; #35;1#59; #60;c#62;#124;#91;d#93;');
});

test('the topology flowchart matches its golden file', (t) => {
  assertGolden(t, 'seed-cascade.topology.mmd', topologyMermaid(seedCascade()));
  assertGolden(t, 'awkward-failover.topology.mmd', topologyMermaid(awkwardFailover(specSocksConf)));
});

test('the trace flowchart and sequence diagram match their golden files', (t) => {
  assertGolden(t, 'seed-cascade.granted.trace.mmd', traceMermaid(seedCascade(), grantedWithFailover()));
  assertGolden(t, 'seed-cascade.refused.sequence.mmd', traceSequenceMermaid(refusedByIdentdMismatch()));
});

test('the topology flowchart puts single-homed hosts in their network and links multi-homed ones', (t) => {
  const text = topologyMermaid(seedCascade());
  t.regex(text, /subgraph n_outside\["outside {2}10\.3\.0\.0\/24"\]\n {4}h_Z\[\(/);
  t.regex(text, /h_B ---\|"10\.2\.0\.2"\| n_dmz/);
  t.regex(text, /h_B ==>\|"socks\.conf:2 for any destination"\| h_A/);
});

test('the sequence view reads client, hops, destination, with the decision after the identd answer', (t) => {
  const text = traceSequenceMermaid(grantedWithFailover());
  const order = [
    'p_C->>p_B: 1 x: connect Z:7',
    'p_B-->>p_C: 2 identd on C',
    'Note over p_B: permit sockd.conf:2',
    'p_B-xp_10_2e_2_2e_0_2e_9: 3',
    'p_B->>p_A: 4',
    'p_A->>p_Z: 5 connect Z:7',
    'p_A-->>p_B: reply 90',
    'p_B-->>p_C: reply 90',
  ];
  const positions = order.map((s) => text.indexOf(s));
  t.true(
    positions.every((p) => p >= 0),
    JSON.stringify(positions),
  );
  t.deepEqual(
    [...positions].sort((a, b) => a - b),
    positions,
  );
});

test('a refusal is a note in a red band in the sequence view', (t) => {
  t.regex(
    traceSequenceMermaid(refusedByIdentdMismatch()),
    /rect rgb\(254, 226, 226\)\n {2}Note over p_A: refused by sockd\.conf:3 \(identd-mismatch\)\n {2}end/,
  );
});
