import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type ConfigName, type ConfigOfName, parseConfigText } from './config-parsers.ts';
import { TopologyErrorCode as Codes, type YamlPath } from './errors.ts';
import type { ConfigText, ParsedConfigText } from './model.ts';
import { addIssue, type ResolveContext } from './resolve-context.ts';
import type { RawTextSource } from './schema.ts';

/**
 * The config path of a topology, from YAML to parsed config: a host's text is read (inline in
 * the YAML, or a file next to it), parsed once by the config module, and kept with its origin so
 * every later message can point into the YAML or the file.
 */

/**
 * A text of the topology: inline (its origin is where the YAML block starts) or a file next to
 * the topology (an unreadable file is an issue at its `file` key, and reads as empty).
 */
export async function loadText(
  ctx: ResolveContext,
  src: RawTextSource,
  p: YamlPath,
  name: string,
): Promise<ConfigText> {
  if (typeof src === 'string') {
    const at = ctx.source.blockStart(p);
    return {
      text: src,
      name,
      origin: { file: ctx.source.file, line: at.line, column: at.column, inline: true },
    };
  }
  const abs = path.resolve(ctx.dir, src.file);
  try {
    const text = await readFile(abs, 'utf8');
    return { text, name, origin: { file: abs, line: 1, column: 1, inline: false } };
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((err as Error).message);
    addIssue(ctx, Codes.File, [...p, 'file'], `cannot read ${src.file} (${abs}): ${why}`);
    return { text: '', name, origin: { file: abs, line: 1, column: 1, inline: false } };
  }
}

/** A config of the topology, read and parsed: loadText, then parseConfig. */
export async function loadConfig<K extends ConfigName>(
  ctx: ResolveContext,
  kind: K,
  src: RawTextSource,
  p: YamlPath,
): Promise<ParsedConfigText<ConfigOfName[K]>> {
  return parseConfig(ctx, kind, await loadText(ctx, src, p, kind), p);
}

/** Where line/column of a config text are, in YAML terms (inline) or in the config file itself. */
export function configPosition(
  text: ConfigText,
  line: number,
  column: number,
): { file: string; line: number; column: number } {
  if (!text.origin.inline) return { file: text.origin.file, line, column };
  return {
    file: text.origin.file,
    line: text.origin.line + line - 1,
    column: text.origin.column + Math.max(column, 1) - 1,
  };
}

/**
 * Parses a config text once, for good: the result travels with the text in the model. A text that
 * does not parse is a problem of the topology, each invalid line placed in the YAML (inline text)
 * or in its own file, unless the load keeps invalid configs (drawing).
 */
function parseConfig<K extends ConfigName>(
  ctx: ResolveContext,
  kind: K,
  text: ConfigText,
  p: YamlPath,
): ParsedConfigText<ConfigOfName[K]> {
  const parsed = parseConfigText(kind, text, ctx.parsers);
  if (parsed.parsed.ok || ctx.invalidConfigs === 'keep') return parsed;
  for (const e of parsed.parsed.error.errors) {
    // The first line of a ConfigError message is `file:line[:col]: what`; keep the `what`.
    const first = (e.message.split('\n')[0] ?? '').replace(/^[^:]*:\d+(:\d+)?: /, '');
    const where = configPosition(text, e.line, e.column);
    const message = `${kind} line ${e.line}: ${first} (${e.classic})`;
    if (text.origin.inline) {
      addIssue(ctx, Codes.Config, p, message, { line: where.line, column: where.column });
    } else {
      const src = text.text.split(/\r?\n/)[e.line - 1] ?? '';
      ctx.issues.push({
        code: Codes.Config,
        file: ctx.source.file,
        path: p,
        line: ctx.source.valuePosition(p).line,
        column: ctx.source.valuePosition(p).column,
        message: `${text.origin.file}:${e.line}:${e.column}: ${first} (${e.classic})`,
        excerpt: [src, `${src.slice(0, Math.max(0, e.column - 1)).replace(/[^\t]/g, ' ')}^`],
      });
    }
  }
  return parsed;
}
