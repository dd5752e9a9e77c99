import { isMap, isPair, isScalar, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { InputError } from '../common/errors.ts';
import { readTextFile } from '../common/read-text.ts';
import { aliasProblems } from '../common/yaml-aliases.ts';
import { type RawScenarioFile, ScenarioFile } from './schema.ts';

/**
 * Scenario loader, first stage: YAML text → schema-checked raw form that still knows where
 * every node came from, so later stages (reference checks, matrix expansion) can cite
 * `file: yaml.path (line:col)` too.
 */

export type YamlPath = readonly (string | number)[];

export interface LoadedScenario {
  readonly file: string;
  readonly raw: RawScenarioFile;
  /**
   * 1-based line/column of the node at `path` (or of its nearest existing ancestor); `key`
   * points at a map key instead of its value (for unknown keys).
   */
  locate(path: YamlPath, at?: 'key' | 'value'): { readonly line: number; readonly column: number };
  /**
   * Where the text of the string at `path` starts: for a block scalar (`|`), its first content
   * line; otherwise the value itself. Config texts count their lines from here.
   */
  textStart(path: YamlPath): { readonly line: number; readonly column: number };
}

/** `cases[2].expect.foo` */
export function formatYamlPath(path: YamlPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out === '' ? '(top level)' : out;
}

/** An error at a place in a scenario file, in the one format every scenario error uses. */
export function scenarioError(
  code: string,
  loaded: Pick<LoadedScenario, 'file' | 'locate'>,
  path: YamlPath,
  what: string,
  at: 'key' | 'value' = 'value',
): InputError {
  const { line, column } = loaded.locate(path, at);
  return new InputError(code, `${loaded.file}: ${formatYamlPath(path)} (${line}:${column}): ${what}`);
}

/** Keys a strict object at `path` accepts, found by walking the schema (undefined inside unions). */
function knownKeysAt(path: YamlPath): string[] | undefined {
  let schema: z.ZodType = ScenarioFile;
  const unwrap = (s: z.ZodType): z.ZodType => {
    let cur = s;
    while (cur instanceof z.ZodOptional || cur instanceof z.ZodDefault || cur instanceof z.ZodNullable) {
      cur = cur.unwrap() as z.ZodType;
    }
    return cur;
  };
  for (const part of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject && typeof part === 'string') {
      const next = (schema.shape as Record<string, z.ZodType>)[part];
      if (!next) return undefined;
      schema = next;
    } else if (schema instanceof z.ZodArray && typeof part === 'number') {
      schema = schema.element as z.ZodType;
    } else if (schema instanceof z.ZodRecord && typeof part === 'string') {
      schema = schema.valueType as z.ZodType;
    } else {
      return undefined;
    }
  }
  schema = unwrap(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape).sort() : undefined;
}

function describeIssue(issue: z.core.$ZodIssue): { path: YamlPath; what: string; code: string; at?: 'key' } {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const known = knownKeysAt(path);
    const plural = issue.keys.length > 1 ? `s ${issue.keys.map((k) => `"${k}"`).join(', ')}` : ` "${key}"`;
    return {
      path: [...path, key],
      what: `unknown key${plural}${known ? `; known keys: ${known.join(', ')}` : ''}`,
      code: 'E_SCENARIO_UNKNOWN_KEY',
      at: 'key',
    };
  }
  if (issue.code === 'invalid_union') {
    // Report the branch that got furthest (deepest issue path), which is what the author meant.
    let best: z.core.$ZodIssue | undefined;
    for (const branch of issue.errors) {
      for (const sub of branch) {
        if (!best || sub.path.length > best.path.length) best = sub;
      }
    }
    if (best && best.path.length > 0) {
      const inner = describeIssue({ ...best, path: [...issue.path, ...best.path] } as z.core.$ZodIssue);
      return inner;
    }
  }
  return { path, what: issue.message, code: 'E_SCENARIO_SCHEMA' };
}

/** Parses and schema-checks scenario YAML; throws InputError naming file, YAML path, line:col. */
export function parseScenarioText(text: string, file: string): LoadedScenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locate = (path: YamlPath, at: 'key' | 'value') => {
    for (let n = path.length; n >= 0; n--) {
      const prefix = path.slice(0, n);
      const parentPath = prefix.slice(0, -1);
      const last = prefix[prefix.length - 1];
      // A map key is located at the key itself, so an unknown key points where it is written.
      if (typeof last === 'string' && (at === 'key' || n < path.length)) {
        const parent = parentPath.length === 0 ? doc.contents : doc.getIn(parentPath, true);
        if (isMap(parent)) {
          const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === last);
          const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
          if (range) return lineCounter.linePos(range[0]);
        }
      }
      const node = prefix.length === 0 ? doc.contents : doc.getIn(prefix, true);
      if (isScalar(node) && node.value === null && typeof last === 'string') continue;
      const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
      if (range) return lineCounter.linePos(range[0]);
    }
    return { line: 1, col: 1 };
  };
  const where = { file, locate: (p: YamlPath, at: 'key' | 'value' = 'value') => toLineCol(locate(p, at)) };
  const firstError = doc.errors[0];
  if (firstError) {
    const [line, column] = firstError.linePos?.[0]
      ? [firstError.linePos[0].line, firstError.linePos[0].col]
      : [1, 1];
    throw new InputError(
      'E_SCENARIO_YAML',
      `${file}: (${line}:${column}): ${firstError.message.split('\n')[0]}`,
    );
  }
  const alias = aliasProblems(doc)[0];
  if (alias) {
    const { line, col } = lineCounter.linePos(alias.offset);
    throw new InputError('E_SCENARIO_YAML', `${file}: (${line}:${col}): ${alias.message}`);
  }
  const parsed = ScenarioFile.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const { path, what, code, at } = describeIssue(issue);
    throw scenarioError(code, where, path, what, at);
  }
  const lines = text.split(/\r?\n/);
  const textStart = (path: YamlPath) => {
    const start = where.locate(path, 'value');
    const node = doc.getIn(path, true);
    if (!isScalar(node) || (node.type !== 'BLOCK_LITERAL' && node.type !== 'BLOCK_FOLDED')) return start;
    // The header (`|`, `|-`) ends its line; the content starts on the next non-blank line.
    for (let l = start.line + 1; l <= lines.length; l++) {
      const line = lines[l - 1] ?? '';
      if (line.trim() === '') continue;
      return { line: start.line + 1, column: line.length - line.trimStart().length + 1 };
    }
    return start;
  };
  return { file, raw: parsed.data, locate: where.locate, textStart };
}

function toLineCol(pos: { line: number; col: number }): { line: number; column: number } {
  return { line: pos.line, column: pos.col };
}

export async function loadScenarioFile(path: string, displayName = path): Promise<LoadedScenario> {
  const text = await readTextFile(
    path,
    (err) =>
      new InputError('E_SCENARIO_READ', `${displayName}: cannot read scenario file: ${err.message}`, {
        cause: err,
      }),
  );
  return parseScenarioText(text, displayName);
}
