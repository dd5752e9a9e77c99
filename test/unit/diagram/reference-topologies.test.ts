import { readdirSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { diagramWarnings } from '../../../src/diagram/diagram-output.ts';
import { renderTopologySvg, topologyMermaid } from '../../../src/diagram/index.ts';
import { loadTopology } from '../../../src/topology/load.ts';
import { generatedTopology } from '../../helpers/generated-topology.ts';
import { parseMermaid } from '../../helpers/mermaid-parser.ts';

const dir = path.resolve(import.meta.dirname, '../../../topologies');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

/** Graphviz writes text with XML escapes, and `-` as `&#45;`. */
const inSvg = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/-/g, '&#45;');

test('there are reference topologies to draw', (t) => {
  t.true(files.length > 0);
});

for (const file of files) {
  test(`${file} draws every network and host, with no warning notes`, async (t) => {
    const topology = await loadTopology(path.join(dir, file));
    t.deepEqual(diagramWarnings(topology), []);
    const svg = await renderTopologySvg(topology);
    for (const network of topology.networks) {
      t.true(svg.includes(inSvg(network.name)), network.name);
      t.true(svg.includes(inSvg(network.subnet)), network.subnet);
    }
    for (const host of topology.hosts) t.true(svg.includes(`>${inSvg(host.name)}</text>`), host.name);
    // Mermaid's own parser reads the flowchart: every host a node under its name, every network a subgraph.
    const parsed = await parseMermaid(topologyMermaid(topology));
    if (parsed.kind !== 'flowchart') return t.fail(parsed.kind);
    const firstLines = [...parsed.nodes]
      .filter(([id]) => id.startsWith('h_'))
      .map(([, label]) => label.split('\n')[0])
      .sort();
    t.deepEqual(firstLines, topology.hosts.map((h) => h.name).sort());
    t.deepEqual(
      parsed.subgraphs.map((s) => s.title.split('  ')[0]).sort(),
      topology.networks.map((n) => n.name).sort(),
    );
  });
}

test('the generated 50-host topology is a flowchart Mermaid parses, every host a node', async (t) => {
  const { topology } = await generatedTopology();
  const parsed = await parseMermaid(topologyMermaid(topology));
  if (parsed.kind !== 'flowchart') return t.fail(parsed.kind);
  t.is([...parsed.nodes.keys()].filter((id) => id.startsWith('h_')).length, 50);
  t.is(parsed.subgraphs.length, topology.networks.length);
});
