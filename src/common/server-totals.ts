/**
 * What one SOCKS server counted over its life (its metrics, src/server/metrics.ts, summed over
 * labels): the per-host totals a lab run puts in its reports.
 */
export interface ServerTotals {
  /** Requests received (CONNECT and BIND, every protocol). */
  readonly sessions: number;
  /** Replies sent, by reply code (SOCKS 4 and 5 codes do not overlap but for 0–8 vs 90–93). */
  readonly replies: Readonly<Record<string, number>>;
  readonly permitted: number;
  readonly denied: number;
  /** identd queries by verdict (confirmed, mismatch, unavailable). */
  readonly identd: Readonly<Record<string, number>>;
  readonly upstreamAttempts: number;
  readonly upstreamFailovers: number;
  readonly bytesFromClient: number;
  readonly bytesFromRemote: number;
}
