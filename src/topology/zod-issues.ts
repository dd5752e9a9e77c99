import type { z } from 'zod';
import { TopologyErrorCode as Codes, suggest, type TopologyIssue, type YamlPath } from './errors.ts';
import type { YamlSource } from './yaml-source.ts';

/**
 * zod issues → topology issues that read like compiler errors: the YAML position of the bad key
 * or value, what was wrong, what is allowed, and a "did you mean" when a near miss exists.
 */

type Issue = z.core.$ZodIssue;

interface SchemaDef {
  type: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  options?: readonly unknown[];
  valueType?: unknown;
  element?: unknown;
  in?: unknown;
}

function defOf(schema: unknown): SchemaDef | null {
  const zod = (schema as { _zod?: { def?: SchemaDef } } | null)?._zod;
  return zod?.def ?? null;
}

/** Keys the object schema(s) at `path` allow (walking records, arrays, unions, optionals). */
export function keysAt(schema: unknown, path: YamlPath): string[] {
  const def = defOf(schema);
  if (!def) return [];
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
      return keysAt(def.innerType, path);
    case 'pipe':
      return keysAt(def.in, path);
    case 'union':
      return [...new Set((def.options ?? []).flatMap((o) => keysAt(o, path)))];
    case 'object': {
      if (path.length === 0) return Object.keys(def.shape ?? {});
      const [head, ...rest] = path;
      const child = def.shape?.[String(head)];
      return child ? keysAt(child, rest) : [];
    }
    case 'record':
      return path.length === 0 ? [] : keysAt(def.valueType, path.slice(1));
    case 'array':
      return path.length === 0 ? [] : keysAt(def.element, path.slice(1));
    default:
      return [];
  }
}

function describeInput(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'string') return `\`${input}\``;
  return `${typeof input} ${String(input)}`;
}

function article(type: string): string {
  const map: Record<string, string> = {
    object: 'a mapping',
    record: 'a mapping',
    array: 'a list',
    string: 'a string',
    number: 'a number',
    boolean: 'true or false',
  };
  return map[type] ?? type;
}

/** For a union, the branch that got furthest (not a plain type mismatch at the union itself). */
function bestBranch(issue: Issue & { code: 'invalid_union' }): Issue[] | null {
  // Branch issues have paths relative to the union itself.
  const branches = (issue.errors ?? []) as Issue[][];
  const informative = branches.filter(
    (b) => b.length > 0 && !b.every((i) => i.code === 'invalid_type' && i.path.length === 0),
  );
  return informative[0] ?? null;
}

export function translateIssues(
  issues: readonly Issue[],
  source: YamlSource,
  schema: unknown,
): TopologyIssue[] {
  return issues.flatMap((issue) => translate(issue, [], { source, schema }));
}

/** The YAML the issues are placed in, and the schema that names the allowed keys. */
interface Against {
  readonly source: YamlSource;
  readonly schema: unknown;
}

/** One zod issue (its path below `prefix`, for a union branch) → topology issues, by its code. */
function translate(issue: Issue, prefix: YamlPath, at: Against): TopologyIssue[] {
  const path: YamlPath = [...prefix, ...(issue.path as (string | number)[])];
  switch (issue.code) {
    case 'unrecognized_keys':
      return unknownKeys(at, path, issue.keys);
    case 'invalid_union':
      return noUnionBranch(at, path, issue);
    case 'invalid_type':
      return [wrongType(at, path, issue)];
    case 'invalid_value':
      return [notAllowed(at, path, issue)];
    case 'invalid_key':
      return [badRecordKey(at, path, issue)];
    case 'too_small':
    case 'too_big':
      return [outOfRange(at, path, issue)];
    default:
      return [at.source.issue(Codes.Value, path, issue.message)];
  }
}

/** Each unknown key, at the key, with the keys the schema knows there. */
function unknownKeys({ source, schema }: Against, path: YamlPath, keys: readonly string[]): TopologyIssue[] {
  const known = keysAt(schema, path);
  return keys.map((key) => {
    const hint = suggest(key, known);
    const didYouMean = hint ? `; did you mean \`${hint}\`?` : '';
    return source.issue(
      Codes.UnknownKey,
      [...path, key],
      `unknown key \`${key}\`${didYouMean} known keys: ${known.join(', ')}`,
      source.keyPosition(path, key),
    );
  });
}

/** The issues of the branch that got furthest; when none did, the types the union accepts. */
function noUnionBranch(
  at: Against,
  path: YamlPath,
  issue: Issue & { code: 'invalid_union' },
): TopologyIssue[] {
  const branch = bestBranch(issue);
  if (branch) return branch.flatMap((inner) => translate(inner, path, at));
  const expected = [
    ...new Set(
      ((issue.errors ?? []) as Issue[][])
        .flat()
        .map((i) => (i.code === 'invalid_type' ? article(i.expected) : '')),
    ),
  ].filter((s) => s !== '');
  const got = describeInput((issue as { input?: unknown }).input);
  return [at.source.issue(Codes.Value, path, `expected ${expected.join(' or ')}, got ${got}`)];
}

/** A missing required key (placed at its parent), or a value of the wrong type. */
function wrongType({ source }: Against, path: YamlPath, issue: z.core.$ZodIssueInvalidType): TopologyIssue {
  const input = (issue as { input?: unknown }).input;
  if (input === undefined) {
    const what = `missing required key \`${String(path[path.length - 1])}\``;
    return source.issue(
      Codes.Value,
      path,
      `${what} (${article(issue.expected)})`,
      source.valuePosition(path.slice(0, -1)),
    );
  }
  return source.issue(Codes.Value, path, `expected ${article(issue.expected)}, got ${describeInput(input)}`);
}

/** A value outside an enum, with the allowed ones and a near miss. */
function notAllowed({ source }: Against, path: YamlPath, issue: z.core.$ZodIssueInvalidValue): TopologyIssue {
  const input = (issue as { input?: unknown }).input;
  const allowed = issue.values.map(String);
  const hint = typeof input === 'string' ? suggest(input, allowed) : undefined;
  const key = String(path[path.length - 1] ?? 'value');
  const didYouMean = hint ? `; did you mean \`${hint}\`?` : '';
  return source.issue(
    Codes.Value,
    path,
    `unknown ${key} ${describeInput(input)}${didYouMean} known ${key}s: ${allowed.join(', ')}`,
  );
}

/** A record key (host or network name) that breaks its pattern: say so at the key. */
function badRecordKey({ source }: Against, path: YamlPath, issue: z.core.$ZodIssueInvalidKey): TopologyIssue {
  const inner = (issue.issues ?? []) as Issue[];
  const key = String(path[path.length - 1]);
  const message = inner[0]?.message ?? `invalid name \`${key}\``;
  return source.issue(Codes.Value, path, message, source.keyPosition(path.slice(0, -1), key));
}

/** A number (or list) below its minimum or above its maximum. */
function outOfRange(
  { source }: Against,
  path: YamlPath,
  issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig,
): TopologyIssue {
  const input = (issue as { input?: unknown }).input;
  const bound =
    issue.code === 'too_small' ? `at least ${String(issue.minimum)}` : `at most ${String(issue.maximum)}`;
  return source.issue(Codes.Value, path, `${describeInput(input)} is out of range: must be ${bound}`);
}
