/** Client side of a SOCKS4 or SOCKS5 (no-auth) CONNECT for the benchmark tools. */
import type { Socket } from 'node:net';

export function handshake(
  sock: Socket,
  proto: 'socks4' | 'socks5',
  host: string,
  port: number,
): Promise<void> {
  const ip = host.split('.').map(Number);
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let stage = proto === 'socks5' ? 0 : 1;
    const need = proto === 'socks5' ? [2, 10] : [0, 8];
    const onData = (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= (need[stage] ?? 0)) {
        const n = need[stage] ?? 0;
        const head = buf.subarray(0, n);
        buf = buf.subarray(n);
        if (stage === 0) {
          if (head[1] !== 0) return fail(new Error(`method ${head[1]}`));
          sock.write(Buffer.from([5, 1, 0, 1, ...ip, port >> 8, port & 255]));
          stage = 1;
        } else {
          const ok = proto === 'socks5' ? head[1] === 0 : head[1] === 90;
          sock.off('data', onData);
          if (buf.length) sock.unshift(buf);
          return ok ? resolve() : fail(new Error(`reply ${head[1]}`));
        }
      }
    };
    const fail = (err: Error) => {
      sock.off('data', onData);
      reject(err);
    };
    sock.on('data', onData);
    sock.write(
      proto === 'socks5'
        ? Buffer.from([5, 1, 0])
        : Buffer.from([4, 1, port >> 8, port & 255, ...ip, 0x62, 0]),
    );
  });
}
