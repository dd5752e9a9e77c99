import test from 'ava';
import { renderSvg } from '../../../src/diagram/render-svg.ts';
import { traceSequenceDot } from '../../../src/diagram/trace-sequence-dot.ts';
import { assertGolden } from './golden.ts';
import { grantedWithFailover, refusedByIdentdMismatch } from './traces.ts';

test('the DOT sequence view matches its golden file', (t) => {
  assertGolden(
    t,
    'seed-cascade.refused.sequence.dot',
    traceSequenceDot(refusedByIdentdMismatch(), { title: 'refused' }),
  );
});

test('the DOT sequence view has a column per host and the refusal as a red note', async (t) => {
  const dot = traceSequenceDot(refusedByIdentdMismatch());
  for (const host of ['C', 'B', 'A']) t.true(dot.includes(`"head:${host}" [`), host);
  t.regex(dot, /fillcolor="#fee2e2".*refused by sockd\.conf:3/);
  const svg = await renderSvg(dot);
  t.true(svg.includes('refused by sockd.conf:3'));
});

test('an attempted server outside the path gets its own column next to the host that tried it', (t) => {
  const dot = traceSequenceDot(grantedWithFailover());
  const header = dot.split('\n').find((l) => l.includes('"head:C" -> "head:')) ?? '';
  t.is(header.trim().split(' [')[0], '"head:C" -> "head:B" -> "head:10.2.0.9" -> "head:A" -> "head:Z"');
});
