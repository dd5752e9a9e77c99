import { InputError } from '../common/errors.ts';
import type { Endpoint, EventSink, LabEvent } from '../common/events.ts';
import { newId } from '../common/ids.ts';
import type { HostModel, ResolvedTopology } from '../topology/model.ts';
import type { ProberPool } from './agent-prober.ts';
import type { AgentLine, ControlReply, DialRequest } from './agent-protocol.ts';
import type { LabHost, LabTimeouts, ProbeOutcome, ProbeRequest, UpOptions } from './runtime.ts';
import { type SettleTiming, settleProbe } from './settle.ts';

/**
 * What the two agent-driven labs (netns and docker) share: each host runs the host agent, the
 * driver runs `host-agent probe|dial` inside a host and reads its JSON lines, and events arrive
 * from the agents. Only how a command reaches a host differs (nsenter vs docker exec); the
 * bookkeeping around it is here, once.
 */

/**
 * Every event of a lab in arrival order, handed on to subscribers as it comes: the agent labs
 * record their agents' lines here, the local lab its in-process services' events.
 */
export class AgentEvents {
  private readonly all: LabEvent[] = [];
  private readonly sinks = new Set<EventSink>();

  constructor(sink?: EventSink) {
    if (sink) this.sinks.add(sink);
  }

  record(event: LabEvent): void {
    this.all.push(event);
    for (const sink of this.sinks) sink.emit(event);
  }

  subscribe(sink: EventSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  list(): readonly LabEvent[] {
    return this.all;
  }

  /** How many events there are (a mark: the events of a probe are those after it). */
  get length(): number {
    return this.all.length;
  }

  since(mark: number): LabEvent[] {
    return this.all.slice(mark);
  }

  /**
   * Waits until nothing of this probe's chain is missing among the events since `mark`
   * (request-events.ts) and its own events have stopped coming for `quietMs`, or `maxMs` passed.
   * Other probes running at the same time (`run --jobs`) neither hold it up nor count for it.
   */
  async settle(
    mark: number,
    topology: ResolvedTopology,
    outcome: ProbeOutcome,
    timing: SettleTiming,
  ): Promise<void> {
    // Other probes may run beside this one (`run --jobs`): only its own chain is waited for.
    await settleProbe(() => this.since(mark), topology, outcome, { ...timing, overlapping: true });
  }
}

/** What a lab lends probeThroughAgent: its event log, probers and how a BIND peer dials. */
export interface AgentProbeDeps {
  readonly log: AgentEvents;
  readonly probers: ProberPool;
  readonly topology: ResolvedTopology;
  readonly dial: (from: string, user: string, request: DialRequest) => Promise<unknown>;
  /** Beyond the probe's own timeout, how long its prober may take before it is given up. */
  readonly slackMs: number;
  readonly settle: SettleTiming;
}

/**
 * One probe through the origin's long-lived prober as `uid`: its lines followed (followProbe),
 * then the lab settles on its events. Undefined when the prober printed no outcome (each lab
 * says so in its own error).
 */
export async function probeThroughAgent(
  deps: AgentProbeDeps,
  request: ProbeRequest,
  uid: number,
): Promise<ProbeOutcome | undefined> {
  const before = deps.log.length;
  const follow = followProbe(request, (e) => deps.log.record(e), deps.dial);
  await deps.probers.probe(
    request.from,
    uid,
    request,
    follow.onLine,
    (request.timeoutMs ?? 5_000) + deps.slackMs,
  );
  await follow.finished();
  const outcome = follow.outcome();
  if (outcome) await deps.log.settle(before, deps.topology, outcome, deps.settle);
  return outcome;
}

/** What an agent lab (netns, docker) takes of `up`'s options, besides its topology. */
export interface AgentLabBasics {
  readonly runId: string;
  /** This process: every object of the run is labelled with it, so a reap can tell it is gone. */
  readonly ownerPid: number;
  readonly events?: EventSink;
  readonly timeouts?: LabTimeouts;
  /** UpOptions.unreachable: off-network connects fail at once (default) or hang until a timer. */
  readonly unreachable?: 'refused' | 'timeout';
}

export function agentLabBasics(up: UpOptions): AgentLabBasics {
  return {
    runId: up.runId ?? newId(),
    ownerPid: process.pid,
    ...(up.events ? { events: up.events } : {}),
    ...(up.timeouts ? { timeouts: up.timeouts } : {}),
    ...(up.unreachable ? { unreachable: up.unreachable } : {}),
  };
}

/** A host of a lab whose topology addresses are the hosts' real addresses (netns, docker). */
export function fixedAddressHost(model: HostModel, running?: () => boolean): LabHost {
  const address = (network?: string): string => {
    const i =
      network === undefined ? model.interfaces[0] : model.interfaces.find((x) => x.network === network);
    if (!i) {
      throw new InputError(
        'E_LAB_ADDRESS',
        `host ${model.name} has no interface${network ? ` on ${network}` : ''}`,
      );
    }
    return i.address;
  };
  const host: LabHost = {
    model,
    address,
    // The topology address is the host's real address, reachable only from inside the lab.
    reach: (port: number, network?: string): Endpoint => ({ address: address(network), port }),
  };
  if (!running) return host;
  return Object.defineProperty(host, 'running', { get: running, enumerable: true });
}

/** The uid of a user of a host, or an input error naming the host's users. */
export function uidOf(host: HostModel, user: string): number {
  const u = host.users.find((x) => x.name === user);
  if (!u) {
    throw new InputError(
      'E_LAB_USER',
      `user ${user} is not a user of host ${host.name}; users: ${host.users.map((x) => x.name).join(', ')}`,
    );
  }
  return u.uid;
}

/**
 * Follows the lines of one `host-agent probe`: events are recorded, the outcome kept, and when
 * a BIND's first reply names the bound address the peer host is made to dial it (from its own
 * host, as `dial` does). `finished()` waits for that peer's dial.
 */
export function followProbe(
  request: ProbeRequest,
  record: (event: LabEvent) => void,
  dial: (from: string, user: string, request: DialRequest) => Promise<unknown>,
): {
  readonly onLine: (line: AgentLine) => void;
  readonly outcome: () => ProbeOutcome | undefined;
  readonly finished: () => Promise<unknown>;
} {
  const peer = request.bindPeer;
  let outcome: ProbeOutcome | undefined;
  let peerDial: Promise<unknown> | undefined;
  return {
    onLine: (line) => {
      if (line.k === 'event') record(line.e);
      else if (line.k === 'outcome') outcome = line.outcome;
      else if (line.k === 'bound' && peer) {
        peerDial = dial(peer.from, peer.user ?? 'root', {
          host: line.bound.address,
          port: line.bound.port,
          send: request.send ?? `hello from ${peer.from}\n`,
          timeoutMs: request.timeoutMs ?? 5_000,
          idleMs: 500,
        }).catch(() => undefined);
      }
    },
    outcome: () => outcome,
    finished: async () => peerDial,
  };
}

/** A config control reply as Lab.replaceConfig reports it. */
export function reloadResult(reply: ControlReply & { ok: true }): {
  readonly reloaded: boolean;
  readonly error?: string;
} {
  const reloaded = reply.reloaded === true;
  return reply.error !== undefined ? { reloaded, error: reply.error } : { reloaded };
}
