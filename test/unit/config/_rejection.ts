import { ConfigFileError } from '../../../src/config/config-error.ts';

/** The ConfigFileError a parse must throw; any other outcome fails the test that asked. */
export function rejectionOf(parse: () => unknown): ConfigFileError {
  try {
    parse();
  } catch (err) {
    if (err instanceof ConfigFileError) return err;
    throw err;
  }
  throw new Error('expected the file to be rejected');
}
