import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Endpoint } from '../common/events.ts';
import type { Conn, ConnectOptions, Listener, ListenOptions, Net } from './net.ts';
import { connectTimeoutError, unmapAddress } from './node-net.ts';
import { loadUvBindings, type TcpHandle, type UvBindings } from './uv-bindings.ts';
import { UvSocket, uvError } from './uv-socket.ts';

/**
 * The production Net on bare libuv handles (see uv-bindings.ts for why): same contract as
 * NodeNet — half-open sockets with Nagle off, IPv4 peers as `a.b.c.d`, connect errors with
 * node:net's codes — at a fraction of net.Socket's memory and per-connection CPU.
 *
 * Address reads are kept to what cannot be known otherwise: an accepted connection's peer
 * (getpeername) always, its local end only when the listener is bound to a wildcard address; an
 * outbound connection's local end (getsockname), never its peer (we just dialled it).
 */

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

async function numericHost(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  return (await lookup(host)).address;
}

function bindHandle(handle: TcpHandle, address: string, port: number): number {
  return isIP(address) === 6 ? handle.bind6(address, port, 0) : handle.bind(address, port);
}

export class UvNet implements Net {
  constructor(private readonly uv: UvBindings) {}

  async listen(options: ListenOptions, onConnection: (conn: Conn) => void): Promise<Listener> {
    const host = await numericHost(options.host);
    const uv = this.uv;
    const handle = uv.newServerHandle();
    let err = bindHandle(handle, host, options.port);
    // Linux copies TCP_NODELAY from a listening socket to the sockets it accepts: set once here,
    // it spares a system call per connection.
    const inheritsNoDelay = process.platform === 'linux' && err === 0 && handle.setNoDelay(true) === 0;
    // Keepalive (SO_KEEPALIVE, TCP_KEEPIDLE) is inherited the same way.
    const keepAliveS = Math.floor((options.keepAliveMs ?? 0) / 1000);
    const inheritsKeepAlive =
      keepAliveS === 0 ||
      (process.platform === 'linux' && err === 0 && handle.setKeepAlive?.(true, keepAliveS) === 0);
    if (err === 0) err = handle.listen(options.backlog ?? 511);
    const bound: { address?: string; port?: number } = {};
    if (err === 0) err = handle.getsockname(bound);
    if (err !== 0) {
      handle.close();
      throw uvError(err, 'listen', options.host, options.port);
    }
    const local: Endpoint = { address: unmapAddress(bound.address), port: bound.port ?? options.port };
    const wildcard = isWildcard(local.address);
    handle.onconnection = (status, client) => {
      // Accept errors (EMFILE…) must not end the listener; the next connection may succeed.
      if (status !== 0 || client === undefined) {
        if (status !== 0) options.onAcceptError?.(uvError(status, 'accept'));
        return;
      }
      const socket = new UvSocket(uv, client);
      if (!inheritsNoDelay) client.setNoDelay(true);
      if (!inheritsKeepAlive) client.setKeepAlive?.(true, keepAliveS);
      const peer = socket.peername();
      // A peer that resets before we look at it has no address; drop it quietly.
      if (peer === null) {
        socket.destroy();
        return;
      }
      const remote = { address: unmapAddress(peer.address), port: peer.port };
      socket.remoteAddress = peer.address;
      socket.remotePort = peer.port;
      let mine = local;
      if (wildcard) {
        const own = socket.sockname();
        mine = own ? { address: unmapAddress(own.address), port: own.port } : local;
      }
      onConnection({ socket, local: mine, remote });
    };
    let closing: Promise<void> | null = null;
    return {
      local,
      close: () =>
        (closing ??= new Promise<void>((resolve) => {
          handle.onconnection = null;
          handle.close(() => resolve());
        })),
    };
  }

  connect(options: ConnectOptions): Promise<Conn> {
    // An address (the usual case) is dialled at once; a name is looked up first, as node:net does.
    if (isIP(options.host) !== 0) return this.dial(options.host, options);
    return numericHost(options.host).then((host) => this.dial(host, options));
  }

  private dial(host: string, options: ConnectOptions): Promise<Conn> {
    const uv = this.uv;
    return new Promise<Conn>((resolve, reject) => {
      const handle = uv.newSocketHandle();
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        handle.close();
        reject(err);
      };
      if (options.localAddress !== undefined) {
        const err = bindHandle(handle, options.localAddress, 0);
        if (err !== 0) return fail(uvError(err, 'bind', options.localAddress));
      }
      const req = uv.newConnectReq();
      req.oncomplete = (status: number) => {
        if (settled) return; // timed out: the handle is already closed
        if (status !== 0) return fail(uvError(status, 'connect', host, options.port));
        settled = true;
        if (timer) clearTimeout(timer);
        const socket = new UvSocket(uv, handle);
        socket.noDelayFromFirstWrite();
        socket.remoteAddress = host;
        socket.remotePort = options.port;
        const own = socket.sockname();
        resolve({
          socket,
          local: own ? { address: unmapAddress(own.address), port: own.port } : { address: '', port: 0 },
          remote: { address: unmapAddress(host), port: options.port },
        });
      };
      const err =
        isIP(host) === 6 ? handle.connect6(req, host, options.port) : handle.connect(req, host, options.port);
      if (err !== 0) return fail(uvError(err, 'connect', host, options.port));
      if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
        timer = setTimeout(() => fail(connectTimeoutError(options)), options.timeoutMs);
      }
    });
  }
}

/** UvNet where Node's handle bindings are usable, else null (the caller uses node:net). */
export function createUvNet(): Net | null {
  const uv = loadUvBindings();
  return uv ? new UvNet(uv) : null;
}
