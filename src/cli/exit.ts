import { InputError, RuntimeUnavailableError } from '../common/errors.ts';

/** design.md CLI contract: 0 all pass, 1 a scenario failed, 2 invalid input or runtime unavailable. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof InputError || err instanceof RuntimeUnavailableError) return 2;
  return 2;
}
