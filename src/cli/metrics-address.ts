/**
 * The `--metrics ADDR:PORT` option's value. Apart from server-metrics.ts so that parsing argv
 * loads no prom-client: a server started without --metrics (every inetd-mode connection is one)
 * never pays for loading it.
 */

export interface MetricsListen {
  readonly host: string;
  readonly port: number;
}

/** `ADDR:PORT` or `[V6]:PORT`; null when the text is neither. */
export function parseMetricsAddress(text: string): MetricsListen | null {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:\s[\]]+):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535) return null;
  return { host: m[1]!, port: Number(m[2]) };
}
