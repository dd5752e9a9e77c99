/**
 * Regenerates topologies/topology.schema.json from the zod schema. Run:
 *   npx tsx src/topology/write-schema.ts
 * (test/unit/topology/json-schema.test.ts fails when the committed file is stale).
 */
import { writeFile } from 'node:fs/promises';
import { topologyJsonSchemaText } from './json-schema.ts';

const target = new URL('../../topologies/topology.schema.json', import.meta.url);
await writeFile(target, topologyJsonSchemaText());
