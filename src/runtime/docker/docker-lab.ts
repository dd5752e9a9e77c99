import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { InputError } from '../../common/errors.ts';
import type { LabEvent } from '../../common/events.ts';
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
import { type ProberChannel, ProberPool } from '../agent-prober.ts';
import type { AgentLine, ControlReply, ControlRequest, DialOutcome, DialRequest } from '../agent-protocol.ts';
import { buildHostSpec, ImagePaths } from '../host-spec.ts';
import { KernelFaults } from '../kernel-faults.ts';
import type { FaultSupport, Lab, LabHost, LabTimeouts, ProbeOutcome, ProbeRequest } from '../runtime.ts';
import { releaseSerially } from './endpoint-release.ts';
import type { DockerEngine } from './engine.ts';
import { bridgeName, isolateBridges } from './firewall.ts';
import { startHostContainer } from './host-container.ts';
import { containerName, labLabels } from './labels.ts';
import { LogFollower } from './log-follower.ts';
import { createNetworks, type NetworkPlan, planNetworks } from './networks.ts';
import { removeRun } from './sweep.ts';

/**
 * A topology running as Docker containers: one container per host on internal networks with the
 * topology's subnets and addresses. The driver talks to hosts only through `docker exec` of the
 * host agent (probes, control requests) and their logs (events); it never dials a lab address.
 */

/** What every agent lab takes (AgentLabBasics: run id, owner, sink, timers, unreachable), and: */
export interface DockerLabOptions extends AgentLabBasics {
  readonly engine: DockerEngine;
  readonly image: string;
  readonly topology: ResolvedTopology;
  /** How long to wait for another lab's overlapping subnets to be released. */
  readonly networkWaitMs: number;
  /** How long a host may take from container start to its agent's `ready`. */
  readonly readyTimeoutMs: number;
}

interface RunningHost {
  readonly model: HostModel;
  /** The container's id on the lab's engine. */
  readonly id: string;
  readonly follower: LogFollower;
}

/**
 * The host spec travels in the agent's environment (SOCKSLAB_HOST_SPEC: /proc/1/environ is
 * root's alone, the agent drops it once read, and every exec blanks it): copying a file into a created container
 * costs the engine a mount of its filesystem, half a second per host under load. A spec too
 * large for one environment string (the kernel takes 128 KiB) goes as a file instead.
 */
const maxEnvSpec = 96 * 1024;
const SpecEnv = 'SOCKSLAB_HOST_SPEC';
function specDelivery(json: string) {
  return Buffer.byteLength(json) <= maxEnvSpec
    ? { env: { [SpecEnv]: json } }
    : { file: { path: ImagePaths.spec, content: json, mode: 0o600 } };
}

const settleQuietMs = 10;
const settleMaxMs = 3_000;

export class DockerLab implements Lab {
  readonly runtime = 'docker' as const;
  readonly runId: string;
  get timeouts(): LabTimeouts | undefined {
    return this.options.timeouts;
  }
  readonly topology: ResolvedTopology;
  /** The engine every container and network of this lab is on (a DOCKER_HOST value). */
  readonly engine: string;
  private readonly plan: NetworkPlan;
  private readonly hosts = new Map<string, RunningHost>();
  private readonly log: AgentEvents;
  private downed: Promise<void> | undefined;
  private readonly cut = new Set<string>();
  /** One long-lived prober per host and user (agent-prober.ts), started on first use. */
  private readonly probers = new ProberPool((host, uid) => this.openProber(host, uid));
  /** Whether off-network traffic is rejected at once (firewall.ts); false: it times out instead. */
  isolated = false;
  /** Link faults in the containers' own network namespaces (runtime/kernel-faults.ts). */
  readonly linkFaults: KernelFaults;
  private readonly pids = new Map<string, number>();

  constructor(private readonly options: DockerLabOptions) {
    this.engine = options.engine.endpoint;
    this.runId = options.runId;
    this.topology = options.topology;
    this.plan = planNetworks(options.topology, options.runId);
    this.log = new AgentEvents(options.events);
    this.linkFaults = new KernelFaults({
      hosts: options.topology.hosts.map((h) => h.name),
      unreachable: options.unreachable ?? 'refused',
      // The container's network namespace, entered from this machine: needs a local engine and root.
      enter: async (host) => ['nsenter', '-t', String(await this.pidOf(host)), '-n'],
    });
  }

  private async pidOf(host: string): Promise<number> {
    const known = this.pids.get(host);
    if (known !== undefined) return known;
    const info = await this.options.engine.dockerode.getContainer(this.running(host).id).inspect();
    const pid = info.State?.Pid ?? 0;
    if (!(pid > 0) || !existsSync(`/proc/${pid}/ns/net`))
      throw new Error(
        `host ${host}: its container's network namespace is not on this machine (a remote engine?)`,
      );
    this.pids.set(host, pid);
    return pid;
  }

  async setFaults(faults: readonly LinkFault[]): Promise<void> {
    await this.linkFaults.apply(faults);
  }

  faultSupport(): Promise<FaultSupport> {
    return this.linkFaults.detect();
  }

  /** Creates the networks and starts every host; on any failure removes everything of this run. */
  async start(): Promise<void> {
    try {
      const { engine, topology, runId, ownerPid, networkWaitMs } = this.options;
      await createNetworks(engine, this.plan, topology, runId, ownerPid, { waitMs: networkWaitMs });
      // The isolation rules go in while the hosts start: no host sends anything before its agent
      // is ready, and the lab is handed out only once both are done.
      const isolation = isolateBridges(
        runId,
        this.plan.networks.map((n) => bridgeName(n.dockerName)),
        this.options.unreachable ?? 'refused',
      );
      // allSettled: the sweep after a failure must not run while other hosts are still being created.
      const [isolated, ...started] = await Promise.allSettled([
        isolation,
        ...topology.hosts.map((h) => this.startHost0(h)),
      ]);
      this.isolated = isolated?.status === 'fulfilled' && isolated.value === true;
      const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      if (topology.faults?.length) await this.setFaults(topology.faults);
    } catch (err) {
      await this.down();
      throw err;
    }
  }

  private dockerNetwork(name: string): string {
    const n = this.plan.networks.find((p) => p.name === name);
    if (!n) throw new InputError('E_LAB_NETWORK', `network ${name} is not in topology ${this.topology.name}`);
    return n.dockerName;
  }

  private async startHost0(model: HostModel): Promise<void> {
    const { engine, image, runId, topology, ownerPid } = this.options;
    const spec = buildHostSpec(topology, model, runId, this.options.timeouts);
    const id = await startHostContainer(engine, {
      image,
      name: containerName(runId, model.name),
      hostname: model.name,
      labels: labLabels(runId, topology.name, model.name, ownerPid),
      // A host without interfaces gets no network at all, never Docker's default bridge.
      attachments: model.interfaces.map((i) => ({
        network: this.dockerNetwork(i.network),
        address: i.address,
        aliases: [model.name],
      })),
      sysctls: { 'net.ipv4.ip_forward': '0' },
      dnsOptions: ['timeout:1', 'attempts:1'],
      ...specDelivery(JSON.stringify(spec)),
    });
    const follower = new LogFollower(`host ${model.name}`, (line) => this.onLine(line));
    this.hosts.set(model.name, { model, id, follower });
    await follower.attach(engine, id);
    await withDeadline(follower.ready, this.options.readyTimeoutMs, `host ${model.name} was not ready`);
  }

  private onLine(line: AgentLine): void {
    if (line.k === 'event') this.log.record(line.e);
  }

  private running(name: string): RunningHost {
    const h = this.hosts.get(name);
    if (!h) {
      const known = this.topology.hosts.map((x) => x.name).join(', ');
      throw new InputError(
        'E_LAB_HOST',
        `host ${name} is not in topology ${this.topology.name}; hosts: ${known}`,
      );
    }
    return h;
  }

  host(name: string): LabHost {
    // Fixed addresses: the topology's address is the container's real address.
    return fixedAddressHost(this.running(name).model);
  }

  /** The container id of a host (for tests and diagnostics). */
  containerId(name: string): string {
    return this.running(name).id;
  }

  /** The Docker network name of a topology network. */
  networkOf(name: string): string {
    return this.dockerNetwork(name);
  }

  /** Per server host, what its metrics counted (common/server-totals.ts). */
  serverTotals(): Promise<Readonly<Record<string, ServerTotals>>> {
    return serverTotalsFromEvents(this.log.list(), this.topology.hosts);
  }

  events(): readonly LabEvent[] {
    return this.log.list();
  }

  /** Runs argv in a host as uid (null: root) to its end; resolves with its exit code and output. */
  private async execLines(
    name: string,
    uid: number | null,
    argv: readonly string[],
  ): Promise<{ exitCode: number; stderr: string; stdout: string }> {
    const d = this.options.engine.dockerode;
    const exec = await d.getContainer(this.running(name).id).exec({
      Cmd: [...argv],
      ...(uid === null ? {} : { User: `${uid}:${uid}` }),
      // An exec inherits the container's environment: the host spec is the agent's alone.
      Env: [`${SpecEnv}=`],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ Detach: false, Tty: false });
    const out = new PassThrough();
    const err = new PassThrough();
    d.modem.demuxStream(stream, out, err);
    let stdout = '';
    let stderr = '';
    out.setEncoding('utf8');
    err.setEncoding('utf8');
    out.on('data', (chunk: string) => {
      stdout += chunk;
    });
    err.on('data', (chunk: string) => {
      stderr += chunk;
    });
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    const info = await exec.inspect();
    return { exitCode: info.ExitCode ?? -1, stderr, stdout };
  }

  /**
   * `host-agent probes` in a host as `uid`, by one `docker exec` with its stdin attached: requests
   * go down the exec's stream, answers come back on its stdout.
   */
  private openProber(name: string, uid: number): ProberChannel {
    const d = this.options.engine.dockerode;
    const id = this.running(name).id;
    const out = new PassThrough();
    const err = new PassThrough();
    out.setEncoding('utf8');
    err.setEncoding('utf8');
    let stderr = '';
    err.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-2_000);
    });
    const stream = (async () => {
      const exec = await d.getContainer(id).exec({
        Cmd: [ImagePaths.node, ImagePaths.agent, 'probes'],
        User: `${uid}:${uid}`,
        // An exec inherits the container's environment: the host spec is the agent's alone.
        Env: [`${SpecEnv}=`],
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
      });
      const s = await exec.start({ hijack: true, stdin: true, Detach: false, Tty: false });
      d.modem.demuxStream(s, out, err);
      return s;
    })();
    const ended = stream.then(
      (s) =>
        new Promise<string>((resolve) => {
          const done = () => resolve(`exec ended${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
          s.on('end', done);
          s.on('close', done);
          s.on('error', (e: Error) => resolve(`exec failed: ${e.message}`));
        }),
      (e: unknown) => `exec could not start: ${e instanceof Error ? e.message : String(e)}`,
    );
    return {
      write: (text) => {
        void stream.then((s) => s.write(text)).catch(() => undefined);
      },
      onStdout: (listener) => {
        out.on('data', listener);
      },
      ended,
      close: () => {
        void stream.then((s) => s.end()).catch(() => undefined);
      },
    };
  }

  async probe(request: ProbeRequest): Promise<ProbeOutcome> {
    const origin = this.running(request.from);
    const uid = uidOf(origin.model, request.user);
    const peer = request.bindPeer;
    if (peer) uidOf(this.running(peer.from).model, peer.user ?? 'root');
    // The BIND peer is another container: it connects to the bound address from there.
    const outcome = await probeThroughAgent(
      {
        log: this.log,
        probers: this.probers,
        topology: this.topology,
        dial: (from, user, r) => this.dial(from, user, r),
        slackMs: 15_000,
        // Events travel through container logs, a little behind the probe's own answer.
        settle: { maxMs: settleMaxMs, quietMs: settleQuietMs },
      },
      request,
      uid,
    );
    if (!outcome) throw new Error(`probe from ${request.from} printed no outcome`);
    return outcome;
  }

  /** A plain TCP exchange from inside host `from` as `user` (no SOCKS): reachability and BIND peers. */
  async dial(from: string, user: string, request: DialRequest): Promise<DialOutcome> {
    const uid = uidOf(this.running(from).model, user);
    return this.probers.dial(from, uid, request, (request.timeoutMs ?? 3_000) + 15_000);
  }

  private async control(name: string, request: ControlRequest): Promise<ControlReply> {
    const r = await this.execLines(name, null, [
      ImagePaths.node,
      ImagePaths.agent,
      'ctl',
      JSON.stringify(request),
    ]);
    const line = r.stdout.trim().split('\n').pop() ?? '';
    try {
      return JSON.parse(line) as ControlReply;
    } catch {
      return {
        ok: false,
        error: `host ${name}: control request failed (exit ${r.exitCode}): ${r.stderr.trim()}`,
      };
    }
  }

  private async mustControl(name: string, request: ControlRequest): Promise<ControlReply & { ok: true }> {
    const reply = await this.control(name, request);
    if (!reply.ok) throw new Error(`host ${name}: ${request.op} failed: ${reply.error}`);
    return reply;
  }

  async stopHost(name: string): Promise<void> {
    await this.mustControl(name, { op: 'stop' });
  }

  async startHost(name: string): Promise<void> {
    await this.mustControl(name, { op: 'start' });
  }

  async setIdentd(host: string, behaviour: IdentdBehaviour): Promise<void> {
    await this.mustControl(host, { op: 'identd', behaviour });
  }

  async replaceConfig(
    host: string,
    file: 'sockd.conf' | 'socks.conf' | 'sockd.route',
    text: string,
  ): Promise<{ readonly reloaded: boolean; readonly error?: string }> {
    // The agent writes the file, sends SIGHUP and watches the server's log for a refused reload.
    return reloadResult(await this.mustControl(host, { op: 'config', file, text }));
  }

  private attached(network: string): { host: RunningHost; address: string }[] {
    const out: { host: RunningHost; address: string }[] = [];
    for (const h of this.hosts.values()) {
      for (const i of h.model.interfaces)
        if (i.network === network) out.push({ host: h, address: i.address });
    }
    return out;
  }

  /**
   * Pulls every host's cable on `network` (docker network disconnect), one host at a time and in
   * the network's turn: two releases at once can leave the engine unable to remove the network,
   * and a teardown may begin while a cut is still under way (endpoint-release.ts).
   */
  async cutNetwork(network: string): Promise<void> {
    const net = this.options.engine.dockerode.getNetwork(this.dockerNetwork(network));
    if (this.cut.has(network)) return;
    this.cut.add(network);
    await releaseSerially(
      this.dockerNetwork(network),
      this.attached(network).map(({ host }) => host.id),
      (id) => net.disconnect({ Container: id, Force: true }),
    );
  }

  async restoreNetwork(network: string): Promise<void> {
    const net = this.options.engine.dockerode.getNetwork(this.dockerNetwork(network));
    if (!this.cut.delete(network)) return;
    await Promise.all(
      this.attached(network).map(({ host, address }) =>
        net.connect({
          Container: host.id,
          EndpointConfig: { IPAMConfig: { IPv4Address: address }, Aliases: [host.model.name] },
        }),
      ),
    );
  }

  down(): Promise<void> {
    this.downed ??= (async () => {
      this.probers.close();
      this.linkFaults.close();
      for (const h of this.hosts.values()) h.follower.close();
      await removeRun(this.options.engine, this.runId);
    })();
    return this.downed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.down();
  }
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
