import { InputError } from '../../common/errors.ts';
import type { Endpoint, EventSink, LabEvent } from '../../common/events.ts';
import { newId } from '../../common/ids.ts';
import type { Resolver } from '../../common/resolver.ts';
import { type ServerTotals, ServerTotalsFold } from '../../common/server-totals.ts';
import type { ClientConfig } from '../../config/ast.ts';
import { type FakeIdentd, startFakeIdentd } from '../../identd/fake-identd.ts';
import type { Listener } from '../../net/net.ts';
import type { CommandRunner, ServerRules, Timers } from '../../server/options.ts';
import { SocksServer } from '../../server/server.ts';
import { topologyUserFiles } from '../../topology/host-table.ts';
import type { LinkFault } from '../../topology/link-faults.ts';
import {
  type HostModel,
  type IdentdBehaviour,
  parsedConfig,
  type ResolvedTopology,
} from '../../topology/model.ts';
import { hostNamesOf, hostNamesResolver } from '../../topology/names.ts';
import { AgentEvents } from '../agent-lab.ts';
import { startEchoService } from '../echo-service.ts';
import type {
  FaultSupport,
  Lab,
  LabHost,
  LabTimeouts,
  ProbeOutcome,
  ProbeRequest,
  UpOptions,
} from '../runtime.ts';
import { runProbe } from './probe.ts';
import { type ConfigName, replaceRule, serverRules } from './server-rules.ts';
import { VirtualNetwork } from './virtual-network.ts';

/**
 * A started lab on the local runtime: every host's servers, identd and echo services run in
 * this process on the virtual network. Only a started lab exists (runtime.up returns it).
 */

interface HostRuntime {
  readonly model: HostModel;
  rules?: ServerRules;
  server?: SocksServer;
  /** What the server counted (the fold `--metrics` is checked against), kept across stop/start. */
  totals?: ServerTotalsFold;
  identd?: FakeIdentd;
  /** Behaviour set by setIdentd, kept across stop/start. */
  identdBehaviour?: IdentdBehaviour;
  echo: Listener[];
  running: boolean;
}

/** Shell commands from configs are never run in the lab: they are recorded as events. */
const recordingRunner: CommandRunner = {
  run: async () => ({ status: 'ran', exitCode: 0 }),
};

export class LocalLab implements Lab {
  readonly runtime = 'local' as const;
  readonly runId: string;
  get timeouts(): LabTimeouts | undefined {
    return this.options.timeouts;
  }
  readonly network: VirtualNetwork;
  private readonly hosts = new Map<string, HostRuntime>();
  private readonly log: AgentEvents;
  /** Each host's own name service (split DNS, topology/names.ts). */
  private readonly resolvers = new Map<string, Resolver>();
  private closed = false;

  private constructor(
    readonly topology: ResolvedTopology,
    private readonly options: UpOptions,
  ) {
    this.runId = options.runId ?? newId();
    this.network = new VirtualNetwork(topology, {
      unreachable: options.unreachable ?? 'refused',
      ...(options.keepPorts !== undefined ? { keepPorts: options.keepPorts } : {}),
      ...(options.timeouts?.unreachable !== undefined
        ? { unreachableTimeoutMs: options.timeouts.unreachable }
        : {}),
    });
    for (const h of topology.hosts)
      this.resolvers.set(h.name, hostNamesResolver(topology.hosts, hostNamesOf(topology, h.name)));
    this.log = new AgentEvents(options.events);
    for (const model of topology.hosts) this.hosts.set(model.name, { model, echo: [], running: false });
  }

  static async start(topology: ResolvedTopology, options: UpOptions = {}): Promise<LocalLab> {
    const lab = new LocalLab(topology, options);
    try {
      lab.network.setFaults(topology.faults ?? []);
      await Promise.all(topology.hosts.filter((h) => !h.stopped).map((h) => lab.startHost(h.name)));
    } catch (err) {
      await lab.down();
      throw err;
    }
    return lab;
  }

  private sinkFor(host: string): EventSink {
    return {
      emit: (event) => {
        const tagged = { ...event, host } as LabEvent;
        this.log.record(tagged);
      },
    };
  }

  subscribe(sink: EventSink): () => void {
    return this.log.subscribe(sink);
  }

  events(): readonly LabEvent[] {
    return this.log.list();
  }

  private runtimeOf(name: string): HostRuntime {
    const h = this.hosts.get(name);
    if (!h) {
      throw new InputError(
        'E_LAB_HOST',
        `unknown host \`${name}\`; hosts: ${[...this.hosts.keys()].join(', ')}`,
      );
    }
    return h;
  }

  host(name: string): LabHost {
    const h = this.runtimeOf(name);
    const network = this.network;
    return {
      model: h.model,
      get running() {
        return h.running;
      },
      address(net?: string): string {
        const iface =
          net === undefined ? h.model.interfaces[0] : h.model.interfaces.find((i) => i.network === net);
        if (!iface) throw new InputError('E_LAB_NETWORK', `host ${name} is not on network ${net ?? '(any)'}`);
        return iface.address;
      },
      reach(port: number, net?: string): Endpoint {
        const address = this.address(net);
        const real = network.reach(address, port);
        if (!real) throw new InputError('E_LAB_PORT', `nothing listens on ${name} ${address}:${port}`);
        return real;
      },
    };
  }

  private timers(): Partial<Timers> {
    const t = this.options.timeouts ?? {};
    return {
      ...(t.identd !== undefined ? { identd: t.identd } : {}),
      ...(t.upstreamConnect !== undefined ? { upstreamConnect: t.upstreamConnect } : {}),
      ...(t.establish !== undefined ? { establish: t.establish } : {}),
      ...(t.requestRead !== undefined ? { requestRead: t.requestRead } : {}),
    };
  }

  async startHost(name: string): Promise<void> {
    const h = this.runtimeOf(name);
    if (h.running || this.closed) return;
    h.running = true;
    const { model } = h;
    const events = this.sinkFor(name);
    const behaviour = h.identdBehaviour ?? model.identd?.behaviour;
    if (behaviour) {
      h.identd = await startFakeIdentd({
        net: this.network.netFor(name, 'root'),
        host: '0.0.0.0',
        port: model.identd?.port ?? 113,
        behaviour,
        lookup: (q) => this.network.owners.owner(name, q.localPort, q.peer.address, q.remotePort),
        events,
        hostLabel: name,
        ...(this.options.timeouts?.identdRead !== undefined
          ? { readTimeoutMs: this.options.timeouts.identdRead }
          : {}),
      });
    }
    for (const service of model.echo ?? []) {
      h.echo.push(
        await startEchoService({ net: this.network.netFor(name, 'root'), host: name, service, events }),
      );
    }
    const server = model.server;
    if (server) {
      h.rules ??= serverRules(server);
      const totals = (h.totals ??= new ServerTotalsFold());
      h.server = new SocksServer({
        mode: server.kind,
        net: this.network.netFor(name, server.owner),
        listen: { host: '0.0.0.0', port: server.port },
        rules: h.rules,
        identdDefault: server.identdDefault,
        identdPort: server.identdPort,
        socks5: server.socks5,
        passwd: server.passwd ? { file: 'passwd', text: server.passwd.text } : null,
        resolver: this.resolverOf(name),
        userFiles: topologyUserFiles(server),
        events: {
          emit: (e) => {
            events.emit(e);
            totals.add(e);
          },
        },
        timers: this.timers(),
        upstreamPort: server.upstreamPort,
        ...(server.defaultServer !== undefined ? { defaultServer: server.defaultServer } : {}),
        ...(server.multihomed !== undefined ? { multihomed: server.multihomed } : {}),
        commands: recordingRunner,
        hostLabel: name,
        routePath: 'sockd.route',
      });
      await h.server.start();
    }
  }

  async stopHost(name: string): Promise<void> {
    const h = this.runtimeOf(name);
    if (!h.running) return;
    h.running = false;
    const server = h.server;
    const identd = h.identd;
    const echo = h.echo;
    delete h.server;
    delete h.identd;
    h.echo = [];
    await Promise.all([server?.close({ drain: false }), identd?.close(), ...echo.map((l) => l.close())]);
  }

  async setIdentd(host: string, behaviour: IdentdBehaviour): Promise<void> {
    const h = this.runtimeOf(host);
    h.identdBehaviour = behaviour;
    if (h.identd) {
      await h.identd.setBehaviour(behaviour);
    } else if (h.running) {
      h.identd = await startFakeIdentd({
        net: this.network.netFor(host, 'root'),
        host: '0.0.0.0',
        port: h.model.identd?.port ?? 113,
        behaviour,
        lookup: (q) => this.network.owners.owner(host, q.localPort, q.peer.address, q.remotePort),
        events: this.sinkFor(host),
        hostLabel: host,
      });
    }
  }

  async serverTotals(): Promise<Readonly<Record<string, ServerTotals>>> {
    const out: Record<string, ServerTotals> = {};
    for (const model of this.topology.hosts) {
      const totals = this.runtimeOf(model.name).totals;
      if (totals) out[model.name] = totals.totals();
    }
    return out;
  }

  async replaceConfig(
    host: string,
    file: ConfigName,
    text: string,
  ): Promise<{ readonly reloaded: boolean; readonly error?: string }> {
    const h = this.runtimeOf(host);
    if (!h.model.server) return { reloaded: false, error: `host ${host} runs no server` };
    h.rules ??= serverRules(h.model.server);
    const next = replaceRule(h.rules, file, text);
    if (!next.ok) return { reloaded: false, error: next.error };
    h.rules = next.rules;
    h.server?.reload(next.rules);
    return { reloaded: true };
  }

  async cutNetwork(network: string): Promise<void> {
    this.checkNetwork(network);
    this.network.cutNetwork(network);
  }

  async restoreNetwork(network: string): Promise<void> {
    this.checkNetwork(network);
    this.network.restoreNetwork(network);
  }

  async setFaults(faults: readonly LinkFault[]): Promise<void> {
    this.network.setFaults(faults);
  }

  async faultSupport(): Promise<FaultSupport> {
    const v = 'virtual network';
    return {
      cut: v,
      delay: `${v} (in-process relay)`,
      loss: `${v} (retransmission delays)`,
      drop: v,
      reset: v,
      notes: [],
    };
  }

  private checkNetwork(network: string): void {
    if (!this.topology.networks.some((n) => n.name === network)) {
      throw new InputError(
        'E_LAB_NETWORK',
        `unknown network \`${network}\`; networks: ${this.topology.networks.map((n) => n.name).join(', ')}`,
      );
    }
  }

  private resolverOf(host: string): Resolver {
    const r = this.resolvers.get(host);
    if (!r) throw new InputError('E_LAB_HOST', `unknown host \`${host}\``);
    return r;
  }

  /** The socks.conf a probe from this host uses (`--use-socks-conf`); null when it has none. */
  private clientConfig(host: string): ClientConfig | null {
    return parsedConfig(this.runtimeOf(host).model.clientSocksConf) ?? null;
  }

  async probe(request: ProbeRequest): Promise<ProbeOutcome> {
    const origin = this.runtimeOf(request.from).model;
    return runProbe(
      {
        topology: this.topology,
        netFor: (host, user) => this.network.netFor(host, user),
        resolver: this.resolverOf(origin.name),
        names: hostNamesOf(this.topology, origin.name),
        userFiles: topologyUserFiles(origin.server),
        clientConfig: (host) => this.clientConfig(host),
        events: this.sinkFor(request.from),
      },
      request,
    );
  }

  async down(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.network.close();
    await Promise.all([...this.hosts.keys()].map((name) => this.stopHost(name)));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.down();
  }
}
