import type { ServerOptions } from '../server/options.ts';

/**
 * The rsockd/sockd options for fairness and stuck sessions (README, server table), parsed apart
 * from server-cli.ts so that file only lists them: `--max-sessions-per-source N`,
 * `--max-handshakes N`, `--max-handshakes-per-source N`, `--stuck-check S`, `--keepalive S`.
 * Defaults live with the server (server.ts); an option not given leaves its default.
 */

export type LimitArgs = Pick<
  ServerOptions,
  'maxSessionsPerSource' | 'maxHandshakes' | 'maxHandshakesPerSource' | 'stuckCheckMs' | 'keepAliveMs'
>;

const counts = {
  '--max-sessions-per-source': 'maxSessionsPerSource',
  '--max-handshakes': 'maxHandshakes',
  '--max-handshakes-per-source': 'maxHandshakesPerSource',
} as const;

const durations = {
  '--stuck-check': 'stuckCheckMs',
  '--keepalive': 'keepAliveMs',
} as const;

/** Every option here takes a value. */
export const limitValueOptions: readonly string[] = [...Object.keys(counts), ...Object.keys(durations)];

export const limitUsage =
  '[--max-sessions-per-source N] [--max-handshakes N] [--max-handshakes-per-source N] [--stuck-check S] [--keepalive S]';

/** `value(name)` gives an option's text when it was given; `fail` throws the caller's usage error. */
export function parseLimitArgs(
  value: (name: string) => string | undefined,
  fail: (message: string) => never,
): LimitArgs {
  const out: { -readonly [K in keyof LimitArgs]: LimitArgs[K] } = {};
  for (const [option, key] of Object.entries(counts)) {
    const text = value(option);
    if (text === undefined) continue;
    if (!/^\d+$/.test(text) || Number(text) < 1)
      fail(`${option}: expected a positive number, got ${JSON.stringify(text)}`);
    out[key] = Number(text);
  }
  for (const [option, key] of Object.entries(durations)) {
    const text = value(option);
    if (text === undefined) continue;
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n < 0) {
      fail(`${option}: expected seconds (fractions allowed, 0 = off), got ${JSON.stringify(text)}`);
    }
    out[key] = Math.round(n * 1000);
  }
  return out;
}
