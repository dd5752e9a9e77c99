import { readFile } from 'node:fs/promises';

/**
 * A UTF-8 text file's contents; a failed read becomes the caller's own error, which says which
 * file it was meant to be and why it could not be read (each loader has its code and wording).
 */
export async function readTextFile(
  path: string,
  failed: (err: NodeJS.ErrnoException) => Error,
): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw failed(err as NodeJS.ErrnoException);
  }
}
