import type { Endpoint, EventSink, LabEvent } from '../common/events.ts';
import type { HostProbeOutcome, HostProbeRequest, ProbeProtocol } from '../common/probe.ts';
import type { ServerTotals } from '../common/server-totals.ts';
import type { LinkFault } from '../topology/link-faults.ts';
import type { HostModel, IdentdBehaviour, ResolvedTopology } from '../topology/model.ts';

/**
 * One Runtime interface, three drivers (local, netns, docker). Everything above the runtime
 * (scenario runner, probe CLI, analysis, reports) talks only to this.
 */
export type RuntimeName = 'local' | 'netns' | 'docker';

export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface UpOptions {
  /** Receives every event of every host, already tagged with `host`. */
  readonly events?: EventSink;
  readonly runId?: string;
  /** How a connection the topology does not allow fails (no shared network, cut): default refused. */
  readonly unreachable?: 'refused' | 'timeout';
  /** Shorter timers for tests and scenarios, in ms; absent = the spec's values. */
  readonly timeouts?: LabTimeouts;
  /** Local runtime: listen on the topology's own port numbers when free (default: ephemeral ports). */
  readonly keepPorts?: boolean;
}

export interface LabTimeouts {
  /** identd exchange (spec 15 s). */
  readonly identd?: number;
  /** one upstream connect attempt (spec 30 s). */
  readonly upstreamConnect?: number;
  /** establishment timer (spec 120 s). */
  readonly establish?: number;
  /** reading the request (spec 120 s). */
  readonly requestRead?: number;
  /** how long an `unreachable: timeout` connect hangs before ETIMEDOUT. */
  readonly unreachable?: number;
  /** how long a fake identd waits for a query line. */
  readonly identdRead?: number;
}

/** How a lab applies each kind of link fault, found by probing what the kernel offers. */
export interface FaultSupport {
  /** e.g. `netem`, `nfqueue (python3 delayer)`, `virtual network`; null: not available, with why in notes. */
  readonly delay: string | null;
  readonly loss: string | null;
  readonly drop: string | null;
  readonly reset: string | null;
  readonly cut: string | null;
  /** What was probed and found (`netem: no (Specified qdisc kind is unknown)`, `tbf: yes`, …). */
  readonly notes: readonly string[];
}

export interface Runtime {
  readonly name: RuntimeName;
  probe(): Promise<ProbeResult>;
  up(topology: ResolvedTopology, options?: UpOptions): Promise<Lab>;
}

export type { ProbeProtocol };

/**
 * One client request issued from inside a host, as a user (what `sockslab probe` does): the
 * probe client's request (src/common/probe.ts, where each field is described) plus where from.
 */
export interface ProbeRequest extends HostProbeRequest {
  readonly from: string;
  /** For bind: which host connects back to the bound address (and from which of its users). */
  readonly bindPeer?: { readonly from: string; readonly user?: string };
}

/** What a probe got: the probe client's outcome, the same on every runtime. */
export type ProbeOutcome = HostProbeOutcome;

export interface LabHost {
  readonly model: HostModel;
  /** The host's address on a network (topology terms). */
  address(network?: string): string;
  /** Where a person outside the lab reaches this host's port (real address:port). */
  reach(port: number, network?: string): Endpoint;
  /** Whether the host's services are running (stopHost/startHost). */
  readonly running?: boolean;
}

export interface Lab extends AsyncDisposable {
  readonly runtime: RuntimeName;
  readonly runId: string;
  readonly topology: ResolvedTopology;
  /** The shorter timers the lab was started with (UpOptions.timeouts); absent = the spec's. */
  readonly timeouts?: LabTimeouts | undefined;
  /** Where the lab lives when that is not this process's machine alone (docker: the engine, as a DOCKER_HOST value). */
  readonly engine?: string;
  host(name: string): LabHost;
  /** Every event seen so far (the lab keeps them for trace stitching). */
  events(): readonly LabEvent[];
  probe(request: ProbeRequest): Promise<ProbeOutcome>;
  /** Fault steps for scenarios. */
  stopHost(name: string): Promise<void>;
  startHost(name: string): Promise<void>;
  setIdentd(host: string, behaviour: IdentdBehaviour): Promise<void>;
  /** Replace a config file's text on a host and reload (SIGHUP semantics: bad text keeps the old). */
  replaceConfig(
    host: string,
    file: 'sockd.conf' | 'socks.conf' | 'sockd.route',
    text: string,
  ): Promise<{ readonly reloaded: boolean; readonly error?: string }>;
  cutNetwork(network: string): Promise<void>;
  restoreNetwork(network: string): Promise<void>;
  /**
   * Link faults (topology/link-faults.ts): make exactly `faults` be in force, adding and removing
   * what differs from the set before. Runtimes that cannot apply them leave this out.
   */
  setFaults?(faults: readonly LinkFault[]): Promise<void>;
  /** What this lab can do with link faults and by which mechanism (detected at start). */
  faultSupport?(): Promise<FaultSupport>;
  down(): Promise<void>;
  /** Subscribe to events from now on (what `sockslab up --events` streams); returns unsubscribe. */
  subscribe?(sink: EventSink): () => void;
  /** What each host's SOCKS server counted so far, by host name (runtimes that can tell). */
  serverTotals?(): Promise<Readonly<Record<string, ServerTotals>>>;
}
