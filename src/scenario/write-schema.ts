import { writeFile } from 'node:fs/promises';
import { scenarioJsonSchema } from './schema.ts';

/** `npx tsx src/scenario/write-schema.ts` regenerates scenarios/scenario.schema.json (a test checks it). */
const target = new URL('../../scenarios/scenario.schema.json', import.meta.url);
await writeFile(target, scenarioJsonSchema());
process.stdout.write(`wrote ${target.pathname}\n`);
