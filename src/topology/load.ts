import path from 'node:path';
import { readTextFile } from '../common/read-text.ts';
import type { ConfigParsers } from './config-parsers.ts';
import { TopologyError, TopologyErrorCode, type TopologyIssue } from './errors.ts';
import { deepFreeze } from './freeze.ts';
import type { ParsedHostConfigs, ResolvedTopology } from './model.ts';
import { resolveTopology } from './resolve.ts';
import type { InvalidConfigs } from './resolve-context.ts';
import { TopologySchema } from './schema.ts';
import { YamlSource } from './yaml-source.ts';
import { translateIssues } from './zod-issues.ts';

/**
 * loadTopology(file): YAML → schema check → resolve (configs parsed) → semantic checks →
 * deep-frozen ResolvedTopology, or a TopologyError listing every problem with file, YAML path
 * and line:col.
 */

export interface LoadOptions {
  /** Config parsers; default: the config module's. */
  readonly parsers?: ConfigParsers;
  /** `fail` (default): a config that does not parse fails the load; `keep`: its error stays in the model. */
  readonly invalidConfigs?: InvalidConfigs;
}

export interface LoadedTopology {
  readonly topology: ResolvedTopology;
  /**
   * Parsed configs per host name: a view of the model's (`hostConfigs(host)`), for callers that
   * take the map. The config objects are the model's own, frozen with it.
   */
  readonly configs: ReadonlyMap<string, ParsedHostConfigs>;
}

export async function loadTopology(file: string, options: LoadOptions = {}): Promise<ResolvedTopology> {
  return (await loadTopologyWithConfigs(file, options)).topology;
}

export async function loadTopologyWithConfigs(
  file: string,
  options: LoadOptions = {},
): Promise<LoadedTopology> {
  const text = await readTextFile(file, (err) => {
    const reason = err.code === 'ENOENT' ? 'no such file' : err.message;
    const issue: TopologyIssue = {
      code: TopologyErrorCode.File,
      file,
      path: [],
      line: 0,
      column: 0,
      message: `cannot read the topology: ${reason}`,
      excerpt: [],
    };
    return new TopologyError(file, [issue]);
  });
  return parseTopologyText(text, file, options);
}

/** Same as loadTopology for text already in memory; `file` names it in errors and anchors relative paths. */
export async function parseTopologyText(
  text: string,
  file: string,
  options: LoadOptions = {},
): Promise<LoadedTopology> {
  const source = new YamlSource(file, text);
  const syntax = source.syntaxIssues();
  if (syntax.length > 0) throw new TopologyError(file, syntax);
  const data = source.doc.toJS() as unknown;
  const checked = TopologySchema.safeParse(data ?? {}, { reportInput: true });
  if (!checked.success) {
    throw new TopologyError(file, sortIssues(translateIssues(checked.error.issues, source, TopologySchema)));
  }
  const resolved = await resolveTopology(source, checked.data, {
    absFile: path.resolve(file),
    parsers: options.parsers,
    invalidConfigs: options.invalidConfigs,
  });
  if (resolved.issues.length > 0) throw new TopologyError(file, sortIssues(resolved.issues));
  // The map holds the model's own config objects, so freezing the topology freezes them too.
  return { topology: deepFreeze(resolved.topology), configs: resolved.configs };
}

function sortIssues(issues: TopologyIssue[]): TopologyIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
}
