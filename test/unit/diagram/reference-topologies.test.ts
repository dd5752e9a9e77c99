import { readdirSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { diagramWarnings } from '../../../src/diagram/diagram-output.ts';
import { renderTopologySvg, topologyMermaid } from '../../../src/diagram/index.ts';
import { loadTopology } from '../../../src/topology/load.ts';

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
    const mermaid = topologyMermaid(topology);
    t.true(mermaid.startsWith('flowchart TB\n'));
  });
}
