import { createServer, type Server, Socket } from 'node:net';
import type { Endpoint } from '../../common/events.ts';
import type { Conn, ConnectOptions, Listener, ListenOptions, Net } from '../../net/net.ts';
import { type LinkFault, pathEffect } from '../../topology/link-faults.ts';
import type { ResolvedTopology } from '../../topology/model.ts';
import { dialThroughRelay, LossCounters } from './fault-relay.ts';
import { type LoopbackInterface, type LoopbackPlan, planLoopback } from './loopback-plan.ts';
import { SocketOwners } from './socket-owners.ts';

/**
 * The local runtime's network: every topology interface is a loopback address; each host gets
 * a Net that speaks topology addresses, dials only what the topology allows (a shared network
 * that is not cut) and answers everything else as a real network would — never dialling
 * anything outside the lab's own loopback addresses.
 */

/** How a connection the topology does not allow fails: refused at once, or a timeout. */
export type UnreachableMode = 'refused' | 'timeout';

export interface VirtualNetworkOptions {
  readonly unreachable?: UnreachableMode;
  /** For `timeout` when the caller gave none; default 3000 ms. */
  readonly unreachableTimeoutMs?: number;
  /** First loopback address (uint32); default random per lab. */
  readonly loopbackBase?: number;
  /** May real ports below 1024 be bound? Default: when running as root. */
  readonly privilegedPorts?: boolean;
  /**
   * Bind the topology's own port numbers on the loopback addresses when free (falling back to
   * an ephemeral port). Default off: every listener gets an ephemeral port, so a lab never takes
   * a fixed port that another program on this machine may want on 0.0.0.0.
   */
  readonly keepPorts?: boolean;
}

interface Bound {
  readonly iface: LoopbackInterface;
  /** Port in topology terms. */
  readonly port: number;
  readonly realPort: number;
}

function netError(code: string, syscall: string, message: string, at?: Endpoint): NodeJS.ErrnoException {
  const err = new Error(`${syscall} ${code} ${message}`) as NodeJS.ErrnoException & {
    address?: string;
    port?: number;
  };
  err.code = code;
  err.syscall = syscall;
  if (at) {
    err.address = at.address;
    err.port = at.port;
  }
  return err;
}

const Wildcards = new Set(['0.0.0.0', '::', '']);
const SelfNames = new Set(['127.0.0.1', 'localhost', '::1']);

export class VirtualNetwork {
  readonly plan: LoopbackPlan;
  readonly owners = new SocketOwners();
  private readonly bound = new Map<string, Bound>();
  private readonly cut = new Set<string>();
  private faults: readonly LinkFault[] = [];
  /** Connections made across the network, until they close (a reset fault cuts them). */
  private readonly live = new Set<{
    readonly from: { readonly host: string; readonly address: string };
    readonly to: { readonly host: string; readonly address: string };
    readonly port: number;
    readonly socket: Conn['socket'];
  }>();
  private readonly losses = new LossCounters();
  private readonly pending = new Set<{ clear(): void }>();
  private readonly unreachable: UnreachableMode;
  private readonly unreachableTimeoutMs: number;
  private readonly privilegedPorts: boolean;
  private readonly keepPorts: boolean;

  constructor(
    readonly topology: ResolvedTopology,
    options: VirtualNetworkOptions = {},
  ) {
    this.plan = planLoopback(topology, options.loopbackBase);
    this.unreachable = options.unreachable ?? 'refused';
    this.unreachableTimeoutMs = options.unreachableTimeoutMs ?? 3000;
    this.privilegedPorts = options.privilegedPorts ?? process.getuid?.() === 0;
    this.keepPorts = options.keepPorts ?? false;
  }

  /** The Net of one virtual process: `user` on `host` (what identd reports for its sockets). */
  netFor(host: string, user: string): Net {
    if (this.plan.ofHost(host).length === 0) throw new RangeError(`unknown host ${host}`);
    return {
      listen: (options, onConnection) => this.listen(host, user, options, onConnection),
      connect: (options) => this.connect(host, user, options),
    };
  }

  cutNetwork(network: string): void {
    this.cut.add(network);
  }

  restoreNetwork(network: string): void {
    this.cut.delete(network);
  }

  isCut(network: string): boolean {
    return this.cut.has(network);
  }

  /**
   * Link faults in force from now on, for connections made from now on (a connection made
   * before keeps the link it had). What each does to a connection is `pathEffect`'s answer,
   * the one the predictor reasons with: a cut fails the connect as a missing route or host
   * would, a drop lets it hang until the caller's timer, a reset refuses it, and delay or loss
   * route its bytes through the relay of fault-relay.ts.
   */
  setFaults(faults: readonly LinkFault[]): void {
    this.faults = faults;
    // A reset also cuts connections already made across it: their connecting side reads
    // ECONNRESET (on netns and docker it comes with their next segment; here at once).
    for (const live of this.live) {
      const e = pathEffect(faults, live.from, live.to, live.port);
      if (e.blocked?.how !== 'reset') continue;
      this.live.delete(live);
      const err = Object.assign(new Error('read ECONNRESET (link fault)'), { code: 'ECONNRESET' });
      live.socket.destroy(err);
    }
  }

  /** Real address:port of a listening topology address:port (for people outside the lab). */
  reach(address: string, port: number): Endpoint | undefined {
    const iface = this.plan.byTopology(address);
    const b = iface && this.bound.get(`${iface.real}|${port}`);
    return b ? { address: b.iface.real, port: b.realPort } : undefined;
  }

  /** Topology terms of a real loopback endpoint (unknown addresses pass through unchanged). */
  toTopology(real: Endpoint): Endpoint {
    const iface = this.plan.byReal(real.address.replace(/^::ffff:/, ''));
    return iface ? { address: iface.address, port: real.port } : real;
  }

  /** Cancel pending simulated timeouts. */
  close(): void {
    for (const p of this.pending) p.clear();
    this.pending.clear();
  }

  private ifacesFor(host: string, address: string): LoopbackInterface[] | NodeJS.ErrnoException {
    const own = this.plan.ofHost(host);
    if (Wildcards.has(address)) return [...own];
    if (SelfNames.has(address)) return own.slice(0, 1);
    const iface = own.find((i) => i.address === address);
    if (!iface) {
      return netError('EADDRNOTAVAIL', 'listen', `${address} is not an address of host ${host}`, {
        address,
        port: 0,
      });
    }
    return [iface];
  }

  private async bindOne(iface: LoopbackInterface, port: number, server: Server): Promise<number> {
    const tryListen = (realPort: number) =>
      new Promise<number>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        server.once('error', onError);
        server.listen({ host: iface.real, port: realPort, exclusive: true }, () => {
          server.off('error', onError);
          const a = server.address();
          resolve(typeof a === 'object' && a ? a.port : realPort);
        });
      });
    if (!this.keepPorts || port === 0 || (port < 1024 && !this.privilegedPorts)) return tryListen(0);
    try {
      return await tryListen(port);
    } catch (err) {
      // Someone outside the lab holds this port (e.g. on 0.0.0.0): remap, as below 1024.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES') return tryListen(0);
      throw err;
    }
  }

  private async listen(
    host: string,
    user: string,
    options: ListenOptions,
    onConnection: (conn: Conn) => void,
  ): Promise<Listener> {
    const ifaces = this.ifacesFor(host, options.host);
    if (!Array.isArray(ifaces)) throw ifaces;
    const servers: Server[] = [];
    const bounds: Bound[] = [];
    let topoPort = options.port;
    try {
      for (const iface of ifaces) {
        if (topoPort !== 0 && this.bound.has(`${iface.real}|${topoPort}`)) {
          throw netError('EADDRINUSE', 'listen', `${iface.address}:${topoPort} on ${host}`, {
            address: iface.address,
            port: topoPort,
          });
        }
        const server = createServer({ pauseOnConnect: false });
        const realPort = await this.bindOne(iface, topoPort, server);
        if (topoPort === 0) topoPort = realPort;
        const b: Bound = { iface, port: topoPort, realPort };
        this.bound.set(`${iface.real}|${topoPort}`, b);
        servers.push(server);
        bounds.push(b);
        server.on('connection', (socket) => this.accepted(host, user, b, socket, onConnection));
      }
    } catch (err) {
      for (const b of bounds) this.bound.delete(`${b.iface.real}|${b.port}`);
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      throw err;
    }
    const localAddress = ifaces.length === 1 ? (ifaces[0]?.address ?? options.host) : '0.0.0.0';
    let closed = false;
    return {
      local: { address: localAddress, port: topoPort },
      close: async () => {
        if (closed) return;
        closed = true;
        for (const b of bounds) this.bound.delete(`${b.iface.real}|${b.port}`);
        await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      },
    };
  }

  private accepted(
    host: string,
    user: string,
    b: Bound,
    socket: Socket,
    onConnection: (conn: Conn) => void,
  ): void {
    const remoteReal = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const remote = this.toTopology({ address: remoteReal, port: socket.remotePort ?? 0 });
    const local: Endpoint = { address: b.iface.address, port: b.port };
    onConnection(this.owned(host, user, { socket, local, remote }));
  }

  /** Registers which user of which host owns a connection (identd answers from it) until it closes. */
  private owned(host: string, user: string, conn: Conn): Conn {
    const release = this.owners.add({
      host,
      localPort: conn.local.port,
      remoteAddress: conn.remote.address,
      remotePort: conn.remote.port,
      user,
    });
    conn.socket.once('close', release);
    return conn;
  }

  /** Where a dial from `host` to `address` lands, or why it cannot. */
  private route(
    host: string,
    options: ConnectOptions,
  ):
    | { from: LoopbackInterface; to: LoopbackInterface }
    | { error: 'refused' | 'unreachable' | 'outside' | 'badlocal' } {
    const own = this.plan.ofHost(host);
    const local =
      options.localAddress === undefined || Wildcards.has(options.localAddress)
        ? undefined
        : own.find((i) => i.address === options.localAddress);
    if (options.localAddress !== undefined && !Wildcards.has(options.localAddress) && !local) {
      if (!SelfNames.has(options.localAddress)) return { error: 'badlocal' };
    }
    if (SelfNames.has(options.host)) {
      // 127.0.0.1 inside a host is that host itself: any of its interfaces with the port.
      const to = own.find((i) => this.bound.has(`${i.real}|${options.port}`));
      if (!to) return { error: 'refused' };
      return { from: to, to };
    }
    const to = this.plan.byTopology(options.host);
    if (!to) return { error: 'outside' };
    if (to.host === host) return { from: local ?? to, to };
    const from = local ?? own.find((i) => i.network === to.network);
    if (!from || from.network !== to.network || this.cut.has(to.network)) return { error: 'unreachable' };
    return { from, to };
  }

  private async connect(host: string, user: string, options: ConnectOptions): Promise<Conn> {
    const at = { address: options.host, port: options.port };
    const r = this.route(host, options);
    if ('error' in r) {
      switch (r.error) {
        case 'badlocal':
          throw netError(
            'EADDRNOTAVAIL',
            'connect',
            `${options.localAddress} is not an address of host ${host}`,
            at,
          );
        case 'outside':
          // Not a topology address: there is no route to it (and it is never dialled for real).
          throw netError(
            'ENETUNREACH',
            'connect',
            `${options.host}:${options.port} (not in the topology)`,
            at,
          );
        case 'refused':
          throw netError('ECONNREFUSED', 'connect', `${options.host}:${options.port}`, at);
        case 'unreachable':
          return this.unreachableFailure(options, at);
      }
    }
    const b = this.bound.get(`${r.to.real}|${options.port}`);
    if (!b) throw netError('ECONNREFUSED', 'connect', `${options.host}:${options.port}`, at);
    if (this.faults.length > 0 && r.to.host !== host) {
      const faulty = await this.connectAcrossFaults(host, user, r, b, options, at);
      if (faulty) return faulty;
    }
    const socket = await this.dial(r.from.real, b, options.timeoutMs, at);
    const local: Endpoint = { address: r.from.address, port: socket.localPort ?? 0 };
    const remote: Endpoint = { address: r.to.address, port: options.port };
    return this.tracked(host, r, options.port, this.owned(host, user, { socket, local, remote }));
  }

  private tracked(
    host: string,
    r: { from: LoopbackInterface; to: LoopbackInterface },
    port: number,
    conn: Conn,
  ): Conn {
    if (r.to.host === host) return conn;
    const entry = {
      from: { host, address: r.from.address },
      to: { host: r.to.host, address: r.to.address },
      port,
      socket: conn.socket,
    };
    this.live.add(entry);
    conn.socket.once('close', () => this.live.delete(entry));
    return conn;
  }

  /** The connect through the link faults in force; undefined when none touches it. */
  private async connectAcrossFaults(
    host: string,
    user: string,
    r: { from: LoopbackInterface; to: LoopbackInterface },
    b: Bound,
    options: ConnectOptions,
    at: Endpoint,
  ): Promise<Conn | undefined> {
    const e = pathEffect(
      this.faults,
      { host, address: r.from.address },
      { host: r.to.host, address: r.to.address },
      options.port,
    );
    const where = `${options.host}:${options.port}`;
    if (e.blocked) {
      const refusing = this.unreachable === 'refused';
      switch (e.blocked.how) {
        case 'reset':
          throw netError('ECONNREFUSED', 'connect', `${where} (reset)`, at);
        case 'net-unreachable':
          if (refusing) throw netError('ENETUNREACH', 'connect', where, at);
          return this.hang(options, at);
        case 'host-unreachable':
          if (refusing) throw netError('EHOSTUNREACH', 'connect', where, at);
          return this.hang(options, at);
        case 'timeout':
          return this.hang(options, at);
      }
    }
    const slow = e.forwardMs > 0 || e.backwardMs > 0;
    if (!slow && e.forwardLoss.length === 0 && e.backwardLoss.length === 0) return undefined;
    // The SYN goes one way and the SYN-ACK comes back: the connect takes the round trip.
    const rtt = e.forwardMs + e.backwardMs;
    if (options.timeoutMs !== undefined && rtt >= options.timeoutMs) return this.hang(options, at);
    if (rtt > 0) await new Promise((resolve) => setTimeout(resolve, rtt));
    const { socket, upPort } = await dialThroughRelay({
      fromReal: r.from.real,
      to: { address: b.iface.real, port: b.realPort },
      forwardMs: e.forwardMs,
      backwardMs: e.backwardMs,
      forwardLoss: e.forwardLoss,
      backwardLoss: e.backwardLoss,
      losses: this.losses,
    });
    const local: Endpoint = { address: r.from.address, port: upPort };
    return this.tracked(
      host,
      r,
      options.port,
      this.owned(host, user, { socket, local, remote: { address: r.to.address, port: options.port } }),
    );
  }

  /** A connect whose packets are lost: it fails only when the caller's timer (or the lab's) runs out. */
  private hang(options: ConnectOptions, at: Endpoint): Promise<never> {
    return this.timeoutFailure(options, at);
  }

  private unreachableFailure(options: ConnectOptions, at: Endpoint): Promise<never> {
    if (this.unreachable === 'refused') {
      // "Fails at once" is ICMP network-unreachable on netns (interface down) and Docker (the
      // firewall's reject): the same errno here, so failure texts agree across runtimes.
      return Promise.reject(netError('ENETUNREACH', 'connect', `${options.host}:${options.port}`, at));
    }
    return this.timeoutFailure(options, at);
  }

  private timeoutFailure(options: ConnectOptions, at: Endpoint): Promise<never> {
    const ms = options.timeoutMs ?? this.unreachableTimeoutMs;
    return new Promise((_, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(handle);
        reject(netError('ETIMEDOUT', 'connect', `${options.host}:${options.port}`, at));
      }, ms);
      const handle = {
        clear: () => {
          clearTimeout(timer);
          reject(netError('ETIMEDOUT', 'connect', `${options.host}:${options.port} (lab closed)`, at));
        },
      };
      this.pending.add(handle);
    });
  }

  private dial(localReal: string, b: Bound, timeoutMs: number | undefined, at: Endpoint): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      let timer: NodeJS.Timeout | undefined;
      const fail = (err: NodeJS.ErrnoException) => {
        if (timer) clearTimeout(timer);
        socket.destroy();
        // Report the failure in topology terms, never with the real loopback address.
        reject(netError(err.code ?? 'ECONNREFUSED', 'connect', `${at.address}:${at.port}`, at));
      };
      socket.once('error', fail);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => fail(netError('ETIMEDOUT', 'connect', '', at)), timeoutMs);
      }
      socket.connect({ host: b.iface.real, port: b.realPort, localAddress: localReal }, () => {
        if (timer) clearTimeout(timer);
        socket.off('error', fail);
        resolve(socket);
      });
    });
  }
}
