import { z } from 'zod';
import { TopologySchema } from './schema.ts';

/** The editor JSON Schema of topology files, generated from the zod schema (never kept by hand). */
export function topologyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(TopologySchema, { io: 'input', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  return { ...schema, $id: 'https://sockslab.invalid/topology.schema.json', title: 'sockslab topology' };
}

/** The exact text of topologies/topology.schema.json. */
export function topologyJsonSchemaText(): string {
  return `${JSON.stringify(topologyJsonSchema(), null, 2)}\n`;
}
