import type { Resolver } from '../common/resolver.ts';
import type { ClientConfig, RouteConfig, ServerConfig } from '../config/ast.ts';
import type { UserFileReader } from '../config/user-file.ts';
import type { LabTimeouts } from '../runtime/runtime.ts';
import { SpecTimers } from '../scenario/elapsed.ts';
import { faultsAfter } from '../scenario/faults-in-place.ts';
import type { ScenarioStep, TimerName } from '../scenario/model.ts';
import { ScenarioTimeouts } from '../scenario/timeouts.ts';
import { type HostTable, hostTable, topologyUserFiles } from '../topology/host-table.ts';
import { type LinkFault, pathEffect } from '../topology/link-faults.ts';
import {
  type HostModel,
  type IdentdBehaviour,
  type ParsedHostConfigs,
  type ResolvedTopology,
  type ServerModel,
  topologyConfigs,
} from '../topology/model.ts';
import { type HostNames, hostNamesOf, hostNamesResolver } from '../topology/names.ts';

export type ConnectVerdict =
  | { ok: true; local: string; rttMs?: number; undecided?: string }
  | { ok: false; why: string; code: 'ENETUNREACH' | 'ECONNREFUSED' | 'EHOSTUNREACH' | 'ETIMEDOUT' };

/**
 * How near a timer a delayed exchange may come before the prediction says it cannot tell:
 * timers and packet delays both slip by tens of milliseconds on a shared machine. 15 % or 300 ms.
 */
export function timingMargin(timerMs: number): number {
  return Math.max(300, Math.round(timerMs * 0.15));
}

/**
 * The lab as static analysis sees it: the topology, each host's parsed configs, and the state
 * the scenario's fault steps change (stopped hosts, identd behaviours, cut networks, reloaded
 * configs). The same steps the runner applies to a real lab are applied here, so a prediction
 * is made for the world the request actually meets.
 */
export class LabWorld {
  /** Each host's own name service (its entries, its zones, the topology's host names). */
  private readonly resolvers = new Map<string, Resolver>();
  private readonly names = new Map<string, HostNames>();
  private readonly configs = new Map<string, ParsedHostConfigs>();
  private readonly identd = new Map<string, IdentdBehaviour | undefined>();
  private readonly stopped = new Set<string>();
  private readonly cut = new Set<string>();
  private linkFaults: readonly LinkFault[];
  /** The lab timers the prediction assumes (those of `sockslab run`, unless told otherwise). */
  readonly timers: Readonly<Record<TimerName, number>>;
  private readonly byAddress = new Map<string, { host: HostModel; network: string }>();
  private readonly table: HostTable;

  /** `configs` defaults to the topology's own parsed configs (what the loader's map holds). */
  constructor(
    readonly topology: ResolvedTopology,
    configs: ReadonlyMap<string, ParsedHostConfigs> = topologyConfigs(topology),
    timers: LabTimeouts = ScenarioTimeouts,
  ) {
    this.linkFaults = topology.faults ?? [];
    this.timers = {
      identd: timers.identd ?? SpecTimers.identd,
      upstreamConnect: timers.upstreamConnect ?? SpecTimers.upstreamConnect,
      establish: timers.establish ?? SpecTimers.establish,
      requestRead: timers.requestRead ?? SpecTimers.requestRead,
    };
    this.table = hostTable(topology);
    for (const [host, c] of configs) this.configs.set(host, { ...c });
    for (const h of topology.hosts) {
      this.identd.set(h.name, h.identd?.behaviour);
      if (h.stopped) this.stopped.add(h.name);
      for (const i of h.interfaces) this.byAddress.set(i.address, { host: h, network: i.network });
    }
    // The lab's name service, per host (split DNS), never real DNS (as on every runtime).
    for (const h of topology.hosts) {
      const own = hostNamesOf(topology, h.name);
      this.names.set(h.name, own);
      this.resolvers.set(h.name, hostNamesResolver(topology.hosts, own));
    }
  }

  /** The name service of a host (what its server and its programs resolve with). */
  resolverOf(host: string): Resolver {
    const r = this.resolvers.get(host) ?? this.resolvers.get(this.host(host)?.name ?? '');
    if (!r) throw new Error(`unknown host ${host}`);
    return r;
  }

  /** A host's own names beyond the topology's host names (its entries and zones). */
  namesOf(host: string): HostNames {
    return this.names.get(host) ?? [];
  }

  host(name: string): HostModel | undefined {
    return this.table.byName(name);
  }

  /** The host (and network) owning a topology address. */
  owner(address: string): { host: HostModel; network: string } | undefined {
    return this.byAddress.get(address);
  }

  serverConfig(host: string): ServerConfig | undefined {
    return this.configs.get(host)?.server;
  }
  /** rsockd routing file; null = no file (everything direct, d.1). */
  clientConfig(host: string): ClientConfig | null {
    return this.configs.get(host)?.client ?? null;
  }
  routeConfig(host: string): RouteConfig | undefined {
    return this.configs.get(host)?.route;
  }
  /** The socks.conf a probe from this host uses. */
  probeConfig(host: string): ClientConfig | null {
    return this.configs.get(host)?.probeClient ?? null;
  }

  identdOf(host: string): IdentdBehaviour | undefined {
    return this.stopped.has(host) ? undefined : this.identd.get(host);
  }

  running(host: string): boolean {
    return !this.stopped.has(host);
  }

  isCut(network: string): boolean {
    return this.cut.has(network);
  }

  /** Ports a running host accepts connections on. */
  listens(host: HostModel, port: number): boolean {
    if (!this.running(host.name)) return false;
    if (host.server && host.server.port === port) return true;
    if (host.identd && host.identd.port === port) return true;
    return (host.echo ?? []).some((e) => e.port === port);
  }

  /** The link faults in force now. */
  faults(): readonly LinkFault[] {
    return this.linkFaults;
  }

  /**
   * Can `from` open a TCP connection to address:port? Only over a network both are on that is
   * not cut, to a running host that listens there — what the runtimes enforce — and through
   * the link faults in force: a cut or drop decides, a reset refuses, and a delay decides
   * against the connecting side's timer (`timerMs`, absent = no timer) unless the connect time
   * comes so near it that a shared machine's jitter could tip it either way: then `undecided`.
   */
  canConnect(from: HostModel, address: string, port: number, timerMs?: number): ConnectVerdict {
    const plain = this.canConnectIgnoringFaults(from, address, port);
    if (!plain.ok || this.linkFaults.length === 0) return plain;
    const target = this.owner(address)!;
    const effect = pathEffect(
      this.linkFaults,
      { host: from.name, address: plain.local },
      { host: target.host.name, address },
      port,
    );
    if (effect.blocked) {
      const { how, fault } = effect.blocked;
      const why = fault.id;
      if (how === 'net-unreachable') return { ok: false, why, code: 'ENETUNREACH' };
      if (how === 'host-unreachable') return { ok: false, why, code: 'EHOSTUNREACH' };
      if (how === 'reset') return { ok: false, why, code: 'ECONNREFUSED' };
      return { ok: false, why, code: 'ETIMEDOUT' };
    }
    const rtt = effect.forwardMs + effect.backwardMs;
    if (timerMs !== undefined && rtt > 0) {
      const margin = timingMargin(timerMs);
      if (rtt >= timerMs + margin)
        return {
          ok: false,
          why: `connect takes ${rtt} ms (link delay), over the ${timerMs} ms timer`,
          code: 'ETIMEDOUT',
        };
      if (rtt > timerMs - margin)
        return {
          ...plain,
          undecided: `connect takes ${rtt} ms (link delay), too near the ${timerMs} ms timer to say`,
        };
    }
    return { ...plain, rttMs: rtt };
  }

  /** A connection's round trip added by link delays (0 without faults), for exchanges after the connect. */
  roundTripMs(from: HostModel, local: string, address: string, port: number): number {
    const target = this.owner(address);
    if (!target || this.linkFaults.length === 0) return 0;
    const e = pathEffect(
      this.linkFaults,
      { host: from.name, address: local },
      { host: target.host.name, address },
      port,
    );
    return e.forwardMs + e.backwardMs;
  }

  private canConnectIgnoringFaults(
    from: HostModel,
    address: string,
    port: number,
  ): { ok: true; local: string } | { ok: false; why: string; code: 'ENETUNREACH' | 'ECONNREFUSED' } {
    // No route (every runtime fails these at once with ENETUNREACH) versus a host that answers
    // with a reset (nothing listening).
    const target = this.owner(address);
    if (!target) return { ok: false, why: `${address} is no host of the topology`, code: 'ENETUNREACH' };
    const local = from.interfaces.find((i) => i.network === target.network);
    if (!local)
      return {
        ok: false,
        why: `${from.name} has no interface on ${target.network} (where ${address} is)`,
        code: 'ENETUNREACH',
      };
    if (this.isCut(target.network))
      return { ok: false, why: `network ${target.network} is cut`, code: 'ENETUNREACH' };
    if (!this.running(target.host.name))
      return { ok: false, why: `${target.host.name} is stopped`, code: 'ECONNREFUSED' };
    if (!this.listens(target.host, port))
      return { ok: false, why: `nothing listens on ${target.host.name} port ${port}`, code: 'ECONNREFUSED' };
    return { ok: true, local: local.address };
  }

  /** Every host's parsed configs in force now, after the steps applied so far (for lint). */
  configsInForce(): ReadonlyMap<string, ParsedHostConfigs> {
    return this.configs;
  }

  userFiles(server: ServerModel | undefined): UserFileReader {
    return topologyUserFiles(server);
  }

  /** Follows one scenario step (a reload with a broken text keeps the old rules, SIGHUP semantics). */
  apply(step: ScenarioStep): void {
    switch (step.kind) {
      case 'stop':
        this.stopped.add(step.host);
        return;
      case 'start':
        this.stopped.delete(step.host);
        return;
      case 'identd':
        this.identd.set(step.host, step.behaviour);
        return;
      case 'cut':
        this.cut.add(step.network);
        return;
      case 'restore':
        this.cut.delete(step.network);
        return;
      case 'wait':
        return;
      case 'fault':
      case 'heal':
      case 'faults':
        this.linkFaults = faultsAfter(this.linkFaults, step);
        return;
      case 'replaceConfig': {
        // Parsed when the scenario was resolved; a text rejected as a whole (c.12) keeps the running rules.
        if (!step.config.parsed.ok) return;
        const config = step.config.parsed.config;
        const current = this.configs.get(step.host) ?? {};
        const next: ParsedHostConfigs =
          config.kind === 'sockd.conf'
            ? { ...current, server: config }
            : config.kind === 'sockd.route'
              ? { ...current, route: config }
              : this.host(step.host)?.server
                ? { ...current, client: config }
                : { ...current, probeClient: config };
        this.configs.set(step.host, next);
        return;
      }
    }
  }
}
