import type { ConfigParsers } from './config-parsers.ts';
import type { TopologyErrorCode, TopologyIssue, YamlPath } from './errors.ts';
import type { Role } from './model.ts';
import type { RawHostDefaults, RawTopology } from './schema.ts';
import type { YamlSource } from './yaml-source.ts';

/**
 * What a config that does not parse does to the load: `fail` (default) makes it a problem of the
 * topology, with its position; `keep` keeps the error in the model and skips the checks that read
 * configs (what `sockslab graph` wants: draw a broken config as a note; `check` validates).
 */
export type InvalidConfigs = 'fail' | 'keep';

/**
 * What every step of resolving a topology shares: the YAML (for positions), the schema-valid raw
 * topology, the folder its files are read from, and the issues found so far. Every step adds
 * what it finds and goes on, so one load reports every problem.
 */
export interface ResolveContext {
  readonly source: YamlSource;
  readonly raw: RawTopology;
  readonly dir: string;
  readonly parsers: ConfigParsers;
  readonly invalidConfigs: InvalidConfigs;
  readonly issues: TopologyIssue[];
}

/** A problem at a YAML path (at its value, unless `at` places it inside a block). */
export function addIssue(
  ctx: ResolveContext,
  code: TopologyErrorCode,
  p: YamlPath,
  message: string,
  at?: { line: number; column: number } | null,
): void {
  ctx.issues.push(ctx.source.issue(code, p, message, at));
}

/** A host's field after defaults are merged in. */
export type HostKey = keyof RawHostDefaults;

/**
 * Where a merged host field was written: the host itself, else its role defaults, else
 * defaults.hosts (the deepest of them that has `rest`, else the field, else the host).
 */
export function hostFieldPath(
  ctx: ResolveContext,
  host: string,
  role: Role,
  key: HostKey,
  ...rest: (string | number)[]
): YamlPath {
  const candidates: YamlPath[] = [
    ['hosts', host, key],
    ['defaults', 'roles', role, key],
    ['defaults', 'hosts', key],
  ];
  for (const c of candidates) {
    const full = [...c, ...rest];
    if (ctx.source.nodeAt(full).exact) return full;
  }
  for (const c of candidates) if (ctx.source.nodeAt(c).exact) return c;
  return ['hosts', host];
}
