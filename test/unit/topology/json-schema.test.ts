import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { topologyJsonSchemaText } from '../../../src/topology/json-schema.ts';
import { loadTopology } from '../../../src/topology/load.ts';

const dir = path.resolve(import.meta.dirname, '../../../topologies');

test('topologies/topology.schema.json is current (regenerate: npx tsx src/topology/write-schema.ts)', async (t) => {
  const committed = await readFile(path.join(dir, 'topology.schema.json'), 'utf8');
  t.is(committed, topologyJsonSchemaText());
});

test('the JSON Schema rejects unknown keys like the loader does', (t) => {
  const schema = JSON.parse(topologyJsonSchemaText()) as { additionalProperties?: boolean };
  t.is(schema.additionalProperties, false);
});

test('every reference topology references the schema on its first line and loads', async (t) => {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml'));
  t.true(files.length >= 4);
  for (const f of files) {
    const text = await readFile(path.join(dir, f), 'utf8');
    t.is(text.split('\n')[0], '# yaml-language-server: $schema=topology.schema.json', f);
    const topology = await loadTopology(path.join(dir, f));
    t.is(topology.name, f.replace(/\.yaml$/, ''), f);
  }
});
