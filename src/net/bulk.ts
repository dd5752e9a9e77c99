/**
 * When a relayed direction counts as bulk traffic, and the read buffer it then gets: one set for
 * both relays of net/ (UvSocket.relayTo and pipe.ts's Pump), so the two Nets behave alike.
 */

/** A read at least this large means the direction carries bulk data: switch it to its own buffer. */
export const BulkThreshold = 32 * 1024;
/**
 * The own read buffer of a bulk direction (one per busy direction, none for idle ones); reads this
 * large keep a busy relay's syscalls few.
 *
 * 128 KiB, not more: a read and the write after it touch about three times this many bytes (the
 * socket's queued data, this buffer, the new segments of the write), and those should stay in a
 * core's L2 cache (512 KiB per core on this project's machines). Measured (test/bench/focus.ts,
 * seven interleaved rounds): at 256 KiB a relay spent 0.90 CPU s per GB per hop in the 3-hop
 * cascade and 0.79 on one hop; at 128 KiB 0.59 and 0.56 (Dante 0.64 and 0.79), and the 3-hop
 * throughput went from 0.65x to 1.14x Dante's.
 */
export const BulkBufferBytes = 128 * 1024;
