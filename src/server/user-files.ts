import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileErrorText } from '../common/system-error.ts';
import type { ClientConfig, ServerConfig } from '../config/ast.ts';
import { parseUserFile, type UserFileReader } from '../config/user-file.ts';

/**
 * User files (c.8) are read at match time, every time. The policy asks through a synchronous
 * reader, so to keep the request path free of synchronous I/O the engine reads, just before
 * matching, every user file the rules name — asynchronously and in parallel — and hands the policy
 * a reader over that snapshot. Reading has no side effect, so reading a file the matcher never
 * reaches changes nothing; the `Unable to open userfile` line is still written only when reached.
 */

export type UserFileResult = ReturnType<UserFileReader>;
export type AsyncUserFileReader = (path: string) => Promise<UserFileResult>;

const pathsByConfig = new WeakMap<object, readonly string[]>();

/** Every user-file path named in a config's `*=` lists, computed once per parsed config. */
export function userFilePaths(config: ServerConfig | ClientConfig): readonly string[] {
  let paths = pathsByConfig.get(config);
  if (!paths) {
    const set = new Set<string>();
    for (const rule of config.rules)
      for (const el of rule.users?.elements ?? []) if (el.kind === 'file') set.add(el.path);
    paths = [...set];
    pathsByConfig.set(config, paths);
  }
  return paths;
}

/** A reader over a fresh snapshot of the config's user files (or `fallback` when it names none). */
export async function snapshotUserFiles(
  config: ServerConfig | ClientConfig,
  read: AsyncUserFileReader,
  fallback: UserFileReader,
): Promise<UserFileReader> {
  const paths = userFilePaths(config);
  if (paths.length === 0) return fallback;
  const results = await Promise.all(paths.map((p) => read(p)));
  const byPath = new Map(paths.map((p, i) => [p, results[i]!]));
  return (path) => byPath.get(path) ?? fallback(path);
}

/**
 * The production reader (c.8): read at match time, every time. Synchronous because the policy
 * contract is synchronous; only rules that name a user file pay for it. Bytes as latin1, like the
 * rule files and the SOCKS 4 USERID, so a name compares byte for byte.
 */
export const fsUserFileReader: UserFileReader = (path) => {
  try {
    return { ok: true, names: parseUserFile(readFileSync(path, 'latin1')) };
  } catch (err) {
    return { ok: false, error: fileErrorText(err) };
  }
};

/** The production async reader: the file's names, or the strerror-style reason it could not be read. */
export const fsAsyncUserFileReader: AsyncUserFileReader = async (path) => {
  try {
    return { ok: true, names: parseUserFile(await readFile(path, 'latin1')) };
  } catch (err) {
    return { ok: false, error: fileErrorText(err) };
  }
};
