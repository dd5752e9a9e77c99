import test from 'ava';
import { attrs, dotId, html } from '../../../src/diagram/dot-syntax.ts';
import { renderSvg } from '../../../src/diagram/render-svg.ts';

const awkward = [
  'plain',
  'two words',
  'quote"inside',
  'back\\slash\\',
  'a~7e;',
  'a~',
  '<b>&amp;',
  'graph',
  'node',
  '-->',
  'ünï→',
  '',
];

test('identifiers are quoted and use only a safe alphabet, whatever the name', (t) => {
  for (const name of awkward) t.regex(dotId('h', name), /^"h:[A-Za-z0-9_.~;-]*"$/, name);
});

test('different names never share an identifier', (t) => {
  const ids = awkward.map((name) => dotId('h', name));
  t.is(new Set(ids).size, awkward.length);
});

test('label text has markup characters escaped', (t) => {
  t.is(html('a<b> & "c"\n'), 'a&lt;b&gt; &amp; &quot;c&quot; ');
});

test('plain attribute values cannot end their quotes early', (t) => {
  t.is(attrs({ tooltip: 'say "hi" \\' }), ` [tooltip="say 'hi' /"]`);
});

test('Graphviz accepts a graph whose every name is awkward', async (t) => {
  const nodes = awkward.map((name) => `${dotId('h', name)}${attrs({ label: { html: html(name) } })};`);
  const svg = await renderSvg(`digraph ${dotId('g', 'x"y')} {\n${nodes.join('\n')}\n}\n`);
  t.is(svg.match(/class="node"/g)?.length, awkward.length);
  t.true(svg.includes('&lt;b&gt;&amp;amp;'), 'the text reaches the SVG as text');
});
