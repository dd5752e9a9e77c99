import { existsSync } from 'node:fs';
import { InputError, SockslabError } from '../../common/errors.ts';
import type { EventSink, LabEvent } from '../../common/events.ts';
import { type ServerTotals, serverTotalsFromEvents } from '../../common/server-totals.ts';
import type { LinkFault } from '../../topology/link-faults.ts';
import type { HostModel, IdentdBehaviour, ResolvedTopology } from '../../topology/model.ts';
import {
  AgentEvents,
  type AgentLabBasics,
  fixedAddressHost,
  probeThroughAgent,
  reloadResult,
  uidOf,
} from '../agent-lab.ts';
import { ProberPool } from '../agent-prober.ts';
import type { AgentLine, ControlReply, ControlRequest, DialOutcome, DialRequest } from '../agent-protocol.ts';
import { buildHostSpec, ImagePaths } from '../host-spec.ts';
import { KernelFaults } from '../kernel-faults.ts';
import type { FaultSupport, Lab, LabHost, LabTimeouts, ProbeOutcome, ProbeRequest } from '../runtime.ts';
import { sendAgentControl } from './agent-control.ts';
import { AgentProcess } from './agent-process.ts';
import { openInHost } from './host-exec.ts';
import { overlayDirectories } from './host-filesystem.ts';
import { ipBatch, linkStates, waitLinksUp } from './ip.ts';
import {
  addNamespacesBatch,
  bridgeOf,
  hostBatch,
  type NetnsPlan,
  namespacesOf,
  planNetns,
  switchBridgesBatch,
  switchPortsBatch,
} from './plan.ts';
import { removeNamespaces } from './reap.ts';

/**
 * A topology on real kernel network namespaces: a switch namespace with a bridge per network, a
 * namespace per host with veths at the topology's addresses and no default route, and in each
 * host the host agent as a real process (servers under their owner's uid). The driver never
 * sends a packet itself: probes and dials run inside the origin host (`nsenter`), control goes
 * over the agent's unix socket, events come from the agents' stdout.
 */

/** What every agent lab takes (AgentLabBasics: run id, owner, sink, timers, unreachable), and: */
export interface NetnsLabOptions extends AgentLabBasics {
  readonly topology: ResolvedTopology;
  readonly appRoot: string;
  readonly node: string;
  readonly readyTimeoutMs: number;
  readonly carrierTimeoutMs: number;
}

const settleQuietMs = 10;
const settleMaxMs = 1_500;
/** Beyond the probe's own timeout, how long a probe process may run before it is killed. */
const probeSlackMs = 15_000;

export class NetnsLab implements Lab {
  readonly runtime = 'netns' as const;
  readonly runId: string;
  get timeouts(): LabTimeouts | undefined {
    return this.options.timeouts;
  }
  readonly topology: ResolvedTopology;
  readonly plan: NetnsPlan;
  private readonly agents = new Map<string, AgentProcess>();
  private readonly stopped = new Set<string>();
  private readonly cut = new Set<string>();
  private readonly log: AgentEvents;
  private downed: Promise<void> | undefined;
  /** Link faults in the hosts' namespaces (runtime/kernel-faults.ts). */
  readonly linkFaults: KernelFaults;
  /** One long-lived prober per host and user (agent-prober.ts), started on first use. */
  private readonly probers = new ProberPool((host, uid) =>
    openInHost(this.namespaceOf(host), this.agent(host).pid, uid, [
      this.options.node,
      ImagePaths.agent,
      'probes',
    ]),
  );
  /** How long start() spent on the kernel network (incl. the carrier wait) and on the host agents. */
  readonly startTimings = { networkMs: 0, agentsMs: 0 };

  constructor(private readonly options: NetnsLabOptions) {
    this.runId = options.runId;
    this.topology = options.topology;
    this.plan = planNetns(options.topology, options.runId, options.ownerPid);
    this.log = new AgentEvents(options.events);
    const byHost = new Map(this.plan.hosts.map((h) => [h.host, h]));
    this.linkFaults = new KernelFaults({
      hosts: this.plan.hosts.map((h) => h.host),
      unreachable: options.unreachable ?? 'refused',
      enter: async (host) => ['ip', 'netns', 'exec', byHost.get(host)?.namespace ?? this.namespaceOf(host)],
      ifnameOf: (host, network) => byHost.get(host)?.links.find((l) => l.network === network)?.ifname,
    });
  }

  async setFaults(faults: readonly LinkFault[]): Promise<void> {
    await this.linkFaults.apply(faults);
  }

  faultSupport(): Promise<FaultSupport> {
    return this.linkFaults.detect();
  }

  /** Namespaces, links, agents; on any failure everything of this run is removed before rethrowing. */
  async start(): Promise<void> {
    try {
      // Checked before any kernel object exists: a file the host cannot write privately is input.
      const preparedHosts = new Map(
        this.topology.hosts.map((h) => {
          const spec = buildHostSpec(this.topology, h, this.runId, this.options.timeouts);
          return [h.name, { spec, overlays: overlayDirectories(h.name, spec.files, existsSync) }] as const;
        }),
      );
      const t0 = Date.now();
      await this.createNetwork();
      const t1 = Date.now();
      this.startTimings.networkMs = t1 - t0;
      await Promise.all(
        this.topology.hosts.map(async (h, i) => {
          const prepared = preparedHosts.get(h.name);
          const ns = this.plan.hosts[i]?.namespace;
          if (!prepared || !ns) return;
          const agent = new AgentProcess({
            namespace: ns,
            spec: prepared.spec,
            overlays: prepared.overlays,
            appRoot: this.options.appRoot,
            node: this.options.node,
            onLine: (line) => this.onAgentLine(line),
          });
          this.agents.set(h.name, agent);
          await agent.ready(this.options.readyTimeoutMs);
          // A host the topology marks stopped has its services down until startHost.
          if (h.stopped) await this.stopHost(h.name);
        }),
      );
      this.startTimings.agentsMs = Date.now() - t1;
      if (this.topology.faults?.length) await this.setFaults(this.topology.faults);
    } catch (err) {
      await this.down();
      throw err;
    }
  }

  private async createNetwork(): Promise<void> {
    const plan = this.plan;
    await ipBatch(addNamespacesBatch(plan));
    await ipBatch(switchBridgesBatch(plan), { namespace: plan.switchNamespace });
    await Promise.all(plan.hosts.map((h) => ipBatch(hostBatch(plan, h), { namespace: h.namespace })));
    await ipBatch(switchPortsBatch(plan), { namespace: plan.switchNamespace });
    // No service starts before every veth has carrier: earlier packets would be dropped.
    const wanted = new Map<string, string[]>(
      plan.hosts.map((h) => [h.namespace, h.links.map((l) => l.ifname)]),
    );
    wanted.set(
      plan.switchNamespace,
      plan.hosts.flatMap((h) => h.links.map((l) => l.port)),
    );
    await waitLinksUp(wanted, this.options.carrierTimeoutMs);
  }

  private onAgentLine(line: AgentLine): void {
    if (line.k === 'event') this.log.record(line.e);
  }

  subscribe(sink: EventSink): () => void {
    return this.log.subscribe(sink);
  }

  private model(name: string): HostModel {
    const model = this.topology.hosts.find((h) => h.name === name);
    if (!model) {
      const known = this.topology.hosts.map((x) => x.name).join(', ');
      throw new InputError(
        'E_LAB_HOST',
        `host ${name} is not in topology ${this.topology.name}; hosts: ${known}`,
      );
    }
    return model;
  }

  private agent(name: string): AgentProcess & { pid: number } {
    this.model(name);
    const agent = this.agents.get(name);
    const pid = agent?.pid;
    if (!agent || pid === undefined || !agent.alive) {
      throw new SockslabError('E_NETNS_AGENT', `host ${name}: its agent is not running`);
    }
    return agent as AgentProcess & { pid: number };
  }

  /** The namespace of a host (for tests and diagnostics). */
  namespaceOf(name: string): string {
    const h = this.plan.hosts.find((x) => x.host === name);
    if (!h) this.model(name);
    return h?.namespace ?? '';
  }

  /** PIDs of the host agents (for tests: down() must leave none alive). */
  agentPids(): number[] {
    return [...this.agents.values()].map((a) => a.pid).filter((p): p is number => p !== undefined);
  }

  host(name: string): LabHost {
    return fixedAddressHost(this.model(name), () => !this.stopped.has(name));
  }

  /** Per server host, what its metrics counted (common/server-totals.ts). */
  serverTotals(): Promise<Readonly<Record<string, ServerTotals>>> {
    return serverTotalsFromEvents(this.log.list(), this.topology.hosts);
  }

  events(): readonly LabEvent[] {
    return this.log.list();
  }

  async probe(request: ProbeRequest): Promise<ProbeOutcome> {
    const origin = this.model(request.from);
    const uid = uidOf(origin, request.user);
    const peer = request.bindPeer;
    if (peer) uidOf(this.model(peer.from), peer.user ?? 'root');
    this.agent(request.from);
    // The BIND peer connects from its own namespace to the address the server bound.
    const outcome = await probeThroughAgent(
      {
        log: this.log,
        probers: this.probers,
        topology: this.topology,
        dial: (from, user, r) => this.dial(from, user, r),
        slackMs: probeSlackMs,
        settle: { maxMs: settleMaxMs, quietMs: settleQuietMs },
      },
      request,
      uid,
    );
    if (!outcome) {
      throw new SockslabError('E_NETNS_PROBE', `probe from ${request.from} printed no outcome`);
    }
    return outcome;
  }

  /** A plain TCP exchange from inside host `from` as `user` (no SOCKS). */
  async dial(from: string, user: string, request: DialRequest): Promise<DialOutcome> {
    const uid = uidOf(this.model(from), user);
    this.agent(from);
    return this.probers.dial(from, uid, request, (request.timeoutMs ?? 3_000) + probeSlackMs);
  }

  private async control(name: string, request: ControlRequest): Promise<ControlReply & { ok: true }> {
    const reply = await sendAgentControl(this.agent(name).pid, request);
    if (!reply.ok)
      throw new SockslabError('E_NETNS_CONTROL', `host ${name}: ${request.op} failed: ${reply.error}`);
    return reply;
  }

  async stopHost(name: string): Promise<void> {
    await this.control(name, { op: 'stop' });
    this.stopped.add(name);
  }

  async startHost(name: string): Promise<void> {
    await this.control(name, { op: 'start' });
    this.stopped.delete(name);
  }

  async setIdentd(host: string, behaviour: IdentdBehaviour): Promise<void> {
    await this.control(host, { op: 'identd', behaviour });
  }

  async replaceConfig(
    host: string,
    file: 'sockd.conf' | 'socks.conf' | 'sockd.route',
    text: string,
  ): Promise<{ readonly reloaded: boolean; readonly error?: string }> {
    return reloadResult(await this.control(host, { op: 'config', file, text }));
  }

  /**
   * Cuts a network. Default (`unreachable: refused`): every host's interface on it goes down, so
   * its connected route disappears and connects fail at once (ENETUNREACH), as with a pulled
   * cable. `unreachable: timeout`: the network's bridge goes down instead, hosts keep their
   * routes, and packets are silently lost until connects time out.
   */
  async cutNetwork(network: string): Promise<void> {
    const bridge = bridgeOf(this.plan, network);
    if (this.cut.has(network)) return;
    if (this.options.unreachable === 'timeout') {
      await ipBatch([`link set ${bridge.bridge} down`], { namespace: this.plan.switchNamespace });
    } else {
      await Promise.all(
        this.linksOn(network).map(({ namespace, ifname }) =>
          ipBatch([`link set ${ifname} down`], { namespace }),
        ),
      );
    }
    this.cut.add(network);
  }

  async restoreNetwork(network: string): Promise<void> {
    const bridge = bridgeOf(this.plan, network);
    if (!this.cut.has(network)) return;
    const links = this.linksOn(network);
    if (this.options.unreachable === 'timeout') {
      await ipBatch([`link set ${bridge.bridge} up`], { namespace: this.plan.switchNamespace });
      // The bridge forwards again once it is operationally up (it has ports with carrier).
      if (links.length > 0) {
        await waitLinksUp(
          new Map([[this.plan.switchNamespace, [bridge.bridge]]]),
          this.options.carrierTimeoutMs,
        );
      }
    } else {
      await Promise.all(
        links.map(({ namespace, ifname }) => ipBatch([`link set ${ifname} up`], { namespace })),
      );
      // The connected routes come back with the link; packets flow once the carrier is applied.
      const wanted = new Map<string, string[]>();
      for (const l of links) wanted.set(l.namespace, [...(wanted.get(l.namespace) ?? []), l.ifname]);
      await waitLinksUp(wanted, this.options.carrierTimeoutMs);
    }
    this.cut.delete(network);
  }

  private linksOn(network: string): { namespace: string; ifname: string }[] {
    return this.plan.hosts.flatMap((h) =>
      h.links.filter((l) => l.network === network).map((l) => ({ namespace: h.namespace, ifname: l.ifname })),
    );
  }

  /** Link states of a host's namespace or the switch (for tests). */
  linkStates(namespace: string): Promise<Map<string, string>> {
    return linkStates(namespace);
  }

  down(): Promise<void> {
    this.downed ??= (async () => {
      // Probers, delayers and agents first (the agents stop their servers), then whatever is
      // left in the namespaces by PID.
      this.probers.close();
      this.linkFaults.close();
      await Promise.all([...this.agents.values()].map((a) => a.stop(2_000)));
      await removeNamespaces(namespacesOf(this.plan));
    })();
    return this.downed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.down();
  }
}
