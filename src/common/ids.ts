import { randomBytes } from 'node:crypto';

/** Short random ids for runs, sessions and labels (hex, url- and label-safe). */
export function newId(bytes = 6): string {
  return randomBytes(bytes).toString('hex');
}
