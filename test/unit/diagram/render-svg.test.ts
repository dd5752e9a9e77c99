import test from 'ava';
import { renderTopologySvg, renderTraceSequenceSvg, renderTraceSvg } from '../../../src/diagram/index.ts';
import { inlineSvg, renderSvg } from '../../../src/diagram/render-svg.ts';
import { seedCascade } from './topologies.ts';
import { refusedByIdentdMismatch } from './traces.ts';

test('a topology renders to SVG in-process, with every host and network', async (t) => {
  const svg = await renderTopologySvg(seedCascade());
  t.true(svg.includes('<svg'));
  for (const text of [
    'inside',
    '10.1.0.0/24',
    'rsockd :1080',
    '10.2.0.2',
    'socks.conf:2 for any destination',
  ]) {
    t.true(svg.includes(text), text);
  }
});

test('a trace overlay renders to SVG with the refusing line', async (t) => {
  const svg = await renderTraceSvg(seedCascade(), refusedByIdentdMismatch(), { title: 'refused' });
  t.true(svg.includes('refused by sockd.conf:3 (identd&#45;mismatch)'), 'Graphviz writes - as &#45;');
});

test('DOT that Graphviz cannot read is a typed error', async (t) => {
  const err = await t.throwsAsync(renderSvg('digraph { a -> }'));
  t.is((err as { code?: string }).code, 'E_DIAGRAM_RENDER');
});

test('the inline form drops the XML prolog for embedding in HTML', async (t) => {
  const svg = await renderSvg('digraph { a }');
  t.true(svg.startsWith('<?xml'));
  t.true(inlineSvg(svg).startsWith('<svg'));
});

test('every text of a rendered diagram carries the width Graphviz gave it, so no font runs it over its box', async (t) => {
  const trace = refusedByIdentdMismatch();
  for (const svg of [
    await renderTopologySvg(seedCascade()),
    await renderTraceSvg(seedCascade(), trace, { title: 'a title' }),
    await renderTraceSequenceSvg(trace, { title: 'a title' }),
  ]) {
    const texts = svg.match(/<text\b[^>]*>/g) ?? [];
    t.true(texts.length > 10);
    for (const text of texts) t.regex(text, / textLength="\d+(\.\d+)?" lengthAdjust="spacingAndGlyphs"/);
  }
  // The width is Graphviz's own: a longer name gets a proportionally longer text.
  const width = (name: string) =>
    renderSvg(`digraph { a [label="${name}"] }`).then((svg) =>
      Number(/textLength="([\d.]+)"/.exec(svg)?.[1]),
    );
  const [short, long] = [await width('fw'), await width('fw-old.corp.example.com')];
  t.true(long > short * 5, `${short} ${long}`);
});
