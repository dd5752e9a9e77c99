/**
 * When a relayed direction counts as bulk traffic, and the read buffer it then gets: one set for
 * both relays of net/ (UvSocket.relayTo and pipe.ts's Pump), so the two Nets behave alike.
 */

/** A read at least this large means the direction carries bulk data: switch it to its own buffer. */
export const BulkThreshold = 32 * 1024;
/** The own read buffer of a bulk direction (one per busy direction, none for idle ones); reads of up to this size halve a busy relay's syscalls. */
export const BulkBufferBytes = 256 * 1024;
