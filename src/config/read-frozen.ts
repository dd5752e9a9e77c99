/**
 * The server's read of one frozen file (async: an inetd-mode server reads its rules for each
 * connection). Apart from load.ts, and importing the thawing code only when a frozen file is
 * there, because thawing checks the payload with a schema library that would otherwise be loaded
 * by every server start, frozen files or not.
 */
import { readFile } from 'node:fs/promises';
import type { AnyConfig } from './ast.ts';
import { frozenError } from './frozen-error.ts';

/**
 * Reads and thaws one frozen file. Throws ConfigError E_FROZEN_CORRUPT / E_FROZEN_KIND; a read
 * failure is E_FROZEN_CORRUPT too (its classic text is `Error: read from PATH: <reason>`, f.3.6).
 */
export async function readFrozenFile<K extends AnyConfig['kind']>(
  path: string,
  kind: K,
): Promise<Extract<AnyConfig, { kind: K }>> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw frozenError(path, 'E_FROZEN_CORRUPT', err instanceof Error ? err.message : String(err), err);
  }
  const { thaw } = await import('./frozen.ts');
  return thaw(bytes, { file: path, kind }) as Extract<AnyConfig, { kind: K }>;
}
