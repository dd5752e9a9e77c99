import { createHash } from 'node:crypto';
import type { ByteStream } from '../../../src/net/net.ts';

// Plumbing shared by the net tests (net-contract, uv-relay): deadlines, checksums and a
// recorder of what a stream delivers.

/**
 * `p`, or a rejection naming `what` when it takes longer than `ms`. The default is generous: it
 * only bounds a failure, and a loaded CI machine can take seconds over what is quick at a desk.
 */
export async function within<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Everything a stream delivers through 'data' listeners, and whether (and when) its 'end' came. */
export class Received {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  ended = false;
  readonly end: Promise<void>;
  constructor(socket: ByteStream) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(Buffer.from(chunk));
      this.bytes += chunk.length;
    });
    this.end = new Promise<void>((resolve) => {
      socket.on('end', () => {
        this.ended = true;
        resolve();
      });
    });
  }
  get buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
  text(): string {
    return this.buffer.toString('latin1');
  }
}
