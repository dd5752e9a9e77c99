import type { Role } from './model.ts';
import type { RawHostDefaults, RawTopology } from './schema.ts';

/** A host as written, with `defaults.hosts` and its role's defaults merged in (the host wins). */
export interface MergedHost {
  readonly name: string;
  readonly role: Role;
  readonly fields: RawHostDefaults & { role: Role };
}

/** Every host of the topology, defaults merged, in the order the YAML lists them. */
export function mergeHostDefaults(raw: RawTopology): MergedHost[] {
  return Object.entries(raw.hosts).map(([name, host]) => {
    const fields = merge(
      raw.defaults?.hosts as Record<string, unknown> | undefined,
      raw.defaults?.roles?.[host.role] as Record<string, unknown> | undefined,
      host as Record<string, unknown>,
    ) as RawHostDefaults & { role: Role };
    return { name, role: host.role, fields };
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Later layers win; mappings merge key by key (users, server, addresses, user-files). */
function merge(...layers: (Record<string, unknown> | undefined)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer)) {
      const prev = out[k];
      out[k] = isPlainObject(prev) && isPlainObject(v) ? merge(prev, v) : v;
    }
  }
  return out;
}
