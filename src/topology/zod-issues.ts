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
  const out: TopologyIssue[] = [];
  for (const issue of issues) translate(issue, [], source, schema, out);
  return out;
}

function translate(
  issue: Issue,
  prefix: YamlPath,
  source: YamlSource,
  schema: unknown,
  out: TopologyIssue[],
): void {
  const path: YamlPath = [...prefix, ...(issue.path as (string | number)[])];
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = keysAt(schema, path);
      for (const key of issue.keys) {
        const hint = suggest(key, known);
        const didYouMean = hint ? `; did you mean \`${hint}\`?` : '';
        out.push(
          source.issue(
            Codes.UnknownKey,
            [...path, key],
            `unknown key \`${key}\`${didYouMean} known keys: ${known.join(', ')}`,
            source.keyPosition(path, key),
          ),
        );
      }
      return;
    }
    case 'invalid_union': {
      const branch = bestBranch(issue);
      if (branch) {
        for (const inner of branch) translate(inner, path, source, schema, out);
        return;
      }
      const expected = [
        ...new Set(
          ((issue.errors ?? []) as Issue[][])
            .flat()
            .map((i) => (i.code === 'invalid_type' ? article(i.expected) : '')),
        ),
      ].filter((s) => s !== '');
      out.push(
        source.issue(
          Codes.Value,
          path,
          `expected ${expected.join(' or ')}, got ${describeInput((issue as { input?: unknown }).input)}`,
        ),
      );
      return;
    }
    case 'invalid_type': {
      const input = (issue as { input?: unknown }).input;
      const what = input === undefined ? `missing required key \`${String(path[path.length - 1])}\`` : null;
      if (what) {
        const parent = path.slice(0, -1);
        out.push(
          source.issue(
            Codes.Value,
            path,
            `${what} (${article(issue.expected)})`,
            source.valuePosition(parent),
          ),
        );
      } else {
        out.push(
          source.issue(Codes.Value, path, `expected ${article(issue.expected)}, got ${describeInput(input)}`),
        );
      }
      return;
    }
    case 'invalid_value': {
      const input = (issue as { input?: unknown }).input;
      const allowed = issue.values.map(String);
      const hint = typeof input === 'string' ? suggest(input, allowed) : undefined;
      const key = String(path[path.length - 1] ?? 'value');
      const didYouMean = hint ? `; did you mean \`${hint}\`?` : '';
      out.push(
        source.issue(
          Codes.Value,
          path,
          `unknown ${key} ${describeInput(input)}${didYouMean} known ${key}s: ${allowed.join(', ')}`,
        ),
      );
      return;
    }
    case 'invalid_key': {
      // A record key (host or network name) that breaks its pattern: say so at the key.
      const inner = (issue.issues ?? []) as Issue[];
      const key = String(path[path.length - 1]);
      const message = inner[0]?.message ?? `invalid name \`${key}\``;
      out.push(source.issue(Codes.Value, path, message, source.keyPosition(path.slice(0, -1), key)));
      return;
    }
    case 'too_small':
    case 'too_big': {
      const input = (issue as { input?: unknown }).input;
      const bound =
        issue.code === 'too_small' ? `at least ${String(issue.minimum)}` : `at most ${String(issue.maximum)}`;
      out.push(source.issue(Codes.Value, path, `${describeInput(input)} is out of range: must be ${bound}`));
      return;
    }
    default:
      out.push(source.issue(Codes.Value, path, issue.message));
  }
}
