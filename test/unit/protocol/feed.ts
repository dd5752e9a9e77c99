import type { ExecutionContext } from 'ava';

import type { Decoded } from '../../../src/protocol/decoded.ts';

/**
 * Feed `bytes` to an incremental decoder one byte at a time, as a slow client would. Every
 * prefix shorter than the message must ask for more, never for more than is still to come;
 * the first complete prefix must decode. Returns the value and how many bytes it consumed.
 */
export function feedByteByByte<T>(
  t: ExecutionContext,
  decode: (buf: Buffer) => Decoded<T>,
  bytes: Buffer,
): { value: T; consumed: number } {
  for (let i = 0; i <= bytes.length; i++) {
    const r = decode(bytes.subarray(0, i));
    if ('value' in r) {
      t.is(r.consumed, i, 'a decoder completes exactly when its last byte arrives');
      return r;
    }
    t.true(
      r.need >= 1 && r.need <= bytes.length - i,
      `need ${r.need} after ${i} bytes is within what remains`,
    );
  }
  throw new Error('decoder never completed');
}

export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}
