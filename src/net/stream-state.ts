import type { ByteStream } from './net.ts';
import { UvSocket } from './uv-socket.ts';

/**
 * Two questions about a stream that neither Net answers through events while its reads are
 * stopped: are its reads paused (backpressure), and does the connection still exist in the
 * kernel (a peer's RST, or keepalive giving up, is only noticed by a read or write otherwise).
 * The stuck-session check (server.ts) asks them of relaying sessions. And how to end a stream
 * with a reset where one is possible.
 */

interface NodeSocketInternals {
  isPaused?: () => boolean;
  _handle?: { getpeername?: (out: object) => number; reading?: boolean } | null;
}

export function readsPaused(stream: ByteStream): boolean {
  if (stream instanceof UvSocket) return stream.readsPaused();
  if (stream.destroyed || stream.readableEnded) return false;
  const socket = stream as unknown as NodeSocketInternals;
  // A socket reading into its own buffer (relay bulk mode) stops its handle without pausing the
  // stream: the handle's `reading` flag tells.
  return socket.isPaused?.() === true || socket._handle?.reading === false;
}

/** False once the kernel no longer knows the connection (getpeername fails with ENOTCONN). */
export function peerConnected(stream: ByteStream): boolean {
  if (stream.destroyed) return false;
  if (stream instanceof UvSocket) return stream.peerConnected();
  const handle = (stream as unknown as NodeSocketInternals)._handle;
  if (typeof handle?.getpeername !== 'function') return true; // not a TCP socket we can ask
  return handle.getpeername({}) === 0;
}

/**
 * End a stream with RST while its write direction is open, else with a plain close. After our
 * FIN (`end()`) libuv refuses the reset (uv_tcp_close_reset after a shutdown), and net.Socket's
 * `resetAndDestroy` then emits an error and never closes its handle; the peer has had our whole
 * stream in that case, so a close tells it nothing false.
 */
export function resetOrClose(stream: ByteStream): void {
  if (stream.destroyed) return;
  if (stream.writableEnded) stream.destroy();
  else stream.resetAndDestroy();
}
