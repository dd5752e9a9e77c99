import type { Socket } from 'node:net';
import type { Endpoint } from '../common/events.ts';

/**
 * The Net port (design.md): the server never calls node:net directly. Production uses the
 * node:net implementation; the local runtime gives each virtual host a Net that maps topology
 * addresses onto loopback addresses, reports peers back in topology terms, and refuses
 * connections the topology does not allow with the error a real network would give.
 */
export interface Conn {
  /** The real byte stream. Its own address getters are in the real address space: use `local`/`remote`. */
  readonly socket: Socket;
  /** Our end, in this Net's address space. */
  readonly local: Endpoint;
  /** The peer, in this Net's address space. */
  readonly remote: Endpoint;
}

export interface ListenOptions {
  readonly host: string;
  /** 0 = ephemeral */
  readonly port: number;
  readonly backlog?: number;
}

export interface Listener {
  /** The bound address in this Net's terms (port resolved when 0 was asked). */
  readonly local: Endpoint;
  close(): Promise<void>;
}

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  /** Bind the outbound socket to this local address first (identd queries, route-connect). */
  readonly localAddress?: string;
  readonly timeoutMs?: number;
}

/**
 * Errors from `connect` are NodeJS.ErrnoException-like with `code` ECONNREFUSED, ETIMEDOUT,
 * ENETUNREACH, EHOSTUNREACH, … so callers map them to replies and log texts in one place.
 */
export interface Net {
  listen(options: ListenOptions, onConnection: (conn: Conn) => void): Promise<Listener>;
  connect(options: ConnectOptions): Promise<Conn>;
}
