/**
 * The identd client of a SOCKS server (spec g.2–g.4): ask the client host's identd who owns the
 * SOCKS connection. Never throws for network trouble: every failure is an `unavailable` result
 * with a stable reason, because the server treats them all alike (g.4).
 */

import { type Clock, systemClock } from '../common/clock.ts';
import type { Endpoint } from '../common/events.ts';
import type { ByteStream, Net } from '../net/net.ts';
import { encodeIdentQuery, parseIdentAnswer } from '../protocol/ident.ts';

/** Answer bytes read before giving up on a line end (g.2). */
export const IDENT_LINE_LIMIT = 1000;
/** The whole exchange: connect, send, receive (b.7). */
export const IDENT_DEFAULT_TIMEOUT_MS = 15_000;

export type IdentdUnavailableReason =
  /** connect refused, unreachable, or failed otherwise (`detail` has the errno code) */
  | 'connect-failed'
  /** the whole exchange did not finish within timeoutMs */
  | 'timeout'
  /** the identd closed (or reset) the connection before a line end */
  | 'closed-early'
  /** no CR/LF within the first 1000 bytes */
  | 'line-too-long'
  /** an `ERROR` answer (NO-USER, HIDDEN-USER, …; `detail` has the token) */
  | 'error-answer'
  /** the line does not follow g.3, or the user-id is empty (`detail` says why) */
  | 'malformed';

export type IdentdResult =
  | { readonly kind: 'user'; readonly user: string; readonly answer: string }
  | {
      readonly kind: 'unavailable';
      readonly reason: IdentdUnavailableReason;
      /** errno code, ERROR token or parse complaint, when there is one. */
      readonly detail?: string;
      /** The answer line (without CR/LF) when one was read; null otherwise. */
      readonly answer: string | null;
    };

export interface IdentdQuery {
  readonly net: Net;
  /** The server's local address of the client connection: the query leaves from it (g.2). */
  readonly localAddress?: string;
  /** The client host's address and its identd port (113; tests use a high port). */
  readonly remote: Endpoint;
  /** The client's source port of the SOCKS connection. */
  readonly clientPort: number;
  /** The server's local port of the SOCKS connection (normally 1080). */
  readonly serverPort: number;
  readonly timeoutMs?: number;
  readonly clock?: Clock;
}

export function queryIdentd(q: IdentdQuery): Promise<IdentdResult> {
  const clock = q.clock ?? systemClock;
  const timeoutMs = q.timeoutMs ?? IDENT_DEFAULT_TIMEOUT_MS;
  return new Promise<IdentdResult>((resolve) => {
    let done = false;
    let socket: ByteStream | null = null;
    let timer: { clear(): void } | undefined;
    const finish = (result: IdentdResult) => {
      if (done) return;
      done = true;
      timer?.clear();
      socket?.destroy();
      resolve(result);
    };
    const unavailable = (reason: IdentdUnavailableReason, detail?: string, answer: string | null = null) =>
      finish(
        detail === undefined
          ? { kind: 'unavailable', reason, answer }
          : { kind: 'unavailable', reason, detail, answer },
      );
    timer = clock.setTimeout(() => unavailable('timeout', `no answer within ${timeoutMs} ms`), timeoutMs);

    // A Net that throws synchronously is still "connect failed", never an exception.
    Promise.resolve()
      .then(() =>
        q.net.connect({
          host: q.remote.address,
          port: q.remote.port,
          timeoutMs,
          ...(q.localAddress !== undefined ? { localAddress: q.localAddress } : {}),
        }),
      )
      .then(
        (conn) => {
          if (done) {
            conn.socket.destroy();
            return;
          }
          socket = conn.socket;
          let received = Buffer.alloc(0);
          socket.on('data', (chunk: Buffer) => {
            received = Buffer.concat([received, chunk]);
            const end = lineEnd(received, IDENT_LINE_LIMIT);
            if (end >= 0) {
              const line = received.subarray(0, end).toString('latin1');
              const parsed = parseIdentAnswer(line);
              if (parsed.kind === 'user') finish({ kind: 'user', user: parsed.user, answer: line });
              else if (parsed.kind === 'error') unavailable('error-answer', parsed.error, line);
              else unavailable('malformed', parsed.reason, line);
            } else if (received.length >= IDENT_LINE_LIMIT) {
              unavailable('line-too-long', `no line end within ${IDENT_LINE_LIMIT} bytes`);
            }
          });
          socket.on('error', (err: NodeJS.ErrnoException) =>
            unavailable('closed-early', err.code ?? err.message),
          );
          socket.on('end', () => unavailable('closed-early', 'connection closed before a line end'));
          socket.on('close', () => unavailable('closed-early', 'connection closed before a line end'));
          socket.write(encodeIdentQuery(q.clientPort, q.serverPort), 'latin1');
        },
        (err: NodeJS.ErrnoException) =>
          err?.code === 'ETIMEDOUT'
            ? unavailable('timeout', 'connect timed out')
            : unavailable('connect-failed', err?.code ?? String(err?.message ?? err)),
      );
  });
}

/** Index of the first CR or LF within the first `limit` bytes, or -1. */
function lineEnd(buf: Buffer, limit: number): number {
  const end = Math.min(buf.length, limit);
  for (let i = 0; i < end; i++) if (buf[i] === 13 || buf[i] === 10) return i;
  return -1;
}
