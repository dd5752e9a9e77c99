import type { ByteStream } from '../net/net.ts';
import type { Decoded } from '../protocol/socks4.ts';

/**
 * Read one message from a socket with an incremental decoder (`{need}` / `{value, consumed}` /
 * throw). Resolves with the value and any bytes after it; rejects on a decoder error, EOF or
 * socket error. The socket is paused again afterwards, so nothing is lost or read too early.
 */
export function readMessage<T>(
  socket: ByteStream,
  decode: (buf: Uint8Array) => Decoded<T>,
  maxBytes = 4096,
  prefix: Buffer = Buffer.alloc(0),
): Promise<{ value: T; rest: Buffer }> {
  if (prefix.length > 0) {
    const r = decode(prefix); // may throw: the promise rejects
    if ('value' in r)
      return Promise.resolve({ value: r.value, rest: Buffer.from(prefix.subarray(r.consumed)) });
  }
  return new Promise((resolve, reject) => {
    let buf: Buffer = prefix;
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onEnd);
      socket.pause();
    };
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let r: Decoded<T>;
      try {
        r = decode(buf);
      } catch (err) {
        cleanup();
        reject(err);
        return;
      }
      if ('value' in r) {
        cleanup();
        resolve({ value: r.value, rest: Buffer.from(buf.subarray(r.consumed)) });
      } else if (buf.length > maxBytes) {
        cleanup();
        reject(Object.assign(new Error('message too long'), { code: 'EMSGSIZE' }));
      }
    };
    const onEnd = () => {
      cleanup();
      reject(Object.assign(new Error('connection closed before a complete reply'), { code: 'ECONNRESET' }));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
    socket.resume();
  });
}
