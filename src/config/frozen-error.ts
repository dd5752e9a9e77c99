/** The one error of an unusable frozen file (spec f.3.6), shared by the sync and async readers. */
import { ConfigError, type ConfigErrorCode } from './config-error.ts';

/** `Error: read from PATH: <reason>` (f.3.6) as a ConfigError. */
export function frozenError(
  file: string,
  code: ConfigErrorCode,
  reason: string,
  cause?: unknown,
): ConfigError {
  return new ConfigError({
    code,
    file,
    line: 0,
    column: 0,
    source: '',
    classic: `Error: read from ${file}: ${reason}`,
    what: `frozen file is unusable: ${reason}`,
    expected: 'a file written by make_sockdfc, make_socksfc or make_sockdfr of this version',
    ...(cause === undefined ? {} : { cause }),
  });
}
