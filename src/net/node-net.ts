import { createServer, Socket, connect as tcpConnect } from 'node:net';
import type { Endpoint } from '../common/events.ts';
import type { Conn, ConnectOptions, Listener, ListenOptions, Net } from './net.ts';

/**
 * The Net on plain node:net: production's fallback when the libuv handle bindings are missing or
 * node:net is asked for, the accepting half of a cluster worker's Net (production-net.ts), and
 * the lab's host agents' Net. Every socket it hands out is half-open capable (the relay
 * propagates half-close, b.6), has Nagle switched off (SOCKS traffic is interactive more often
 * than bulk, and the kernel still coalesces under load) and reports IPv4 peers as `a.b.c.d`
 * rather than the `::ffff:a.b.c.d` form dual-stack sockets use (c.6).
 */

/** `::ffff:a.b.c.d` → `a.b.c.d`; anything else unchanged. */
export function unmapAddress(address: string | undefined): string {
  if (address === undefined) return '';
  if (
    address.length > 7 &&
    address.charCodeAt(0) === 58 /* : */ &&
    address.slice(0, 7).toLowerCase() === '::ffff:'
  ) {
    const rest = address.slice(7);
    if (rest.indexOf('.') > 0) return rest;
  }
  return address;
}

/** The Conn view of a connected socket (also used for inetd mode's fd 0); see SocketConn. */
export function connOfSocket(socket: Socket): Conn {
  return new SocketConn(socket);
}

/**
 * Addresses are read when the connection is handed over, not on first use: once the socket has
 * closed, Node can no longer tell them, and consumers (echo services, identd lookups, events) may
 * ask only at the end. One getsockname per connection is the price of a Conn that never lies.
 */
class SocketConn implements Conn {
  readonly local: Endpoint;
  readonly remote: Endpoint;
  constructor(readonly socket: Socket) {
    this.local = { address: unmapAddress(socket.localAddress), port: socket.localPort ?? 0 };
    this.remote = { address: unmapAddress(socket.remoteAddress), port: socket.remotePort ?? 0 };
  }
}

/** The error a connect that outlived `timeoutMs` rejects with (both Nets). */
export function connectTimeoutError(options: ConnectOptions): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(
    `connect ETIMEDOUT ${options.host}:${options.port}`,
  ) as NodeJS.ErrnoException;
  err.code = 'ETIMEDOUT';
  err.syscall = 'connect';
  return err;
}

export class NodeNet implements Net {
  listen(options: ListenOptions, onConnection: (conn: Conn) => void): Promise<Listener> {
    const keepAliveMs = options.keepAliveMs ?? 0;
    const keepAlive = keepAliveMs > 0 ? { keepAlive: true, keepAliveInitialDelay: keepAliveMs } : {};
    const server = createServer({ allowHalfOpen: true, noDelay: true, ...keepAlive }, (socket) => {
      // A peer that resets before we look at it has no address; drop it quietly.
      if (socket.remoteAddress === undefined) {
        socket.destroy();
        return;
      }
      onConnection(connOfSocket(socket));
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.host, port: options.port, backlog: options.backlog ?? 511 }, () => {
        server.off('error', reject);
        // Accept errors (EMFILE…) must not crash the process; the listener keeps going.
        server.on('error', (err: NodeJS.ErrnoException) => options.onAcceptError?.(err));
        const addr = server.address();
        const local: Endpoint =
          addr && typeof addr === 'object'
            ? { address: unmapAddress(addr.address), port: addr.port }
            : { address: options.host, port: options.port };
        resolve({
          local,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
            }),
        });
      });
    });
  }

  connect(options: ConnectOptions): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const socket = tcpConnect({
        host: options.host,
        port: options.port,
        allowHalfOpen: true,
        noDelay: true,
        ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      });
      let timer: NodeJS.Timeout | undefined;
      const onError = (err: Error) => {
        if (timer) clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        if (timer) clearTimeout(timer);
        socket.off('error', onError);
        resolve(connOfSocket(socket));
      });
      if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
        timer = setTimeout(() => onError(connectTimeoutError(options)), options.timeoutMs);
      }
    });
  }
}

export const nodeNet: Net = new NodeNet();

/** For callers that already hold a socket (inetd mode: fd 0). */
export function socketFromFd(fd: number): Socket {
  return new Socket({ fd, allowHalfOpen: true, readable: true, writable: true });
}
