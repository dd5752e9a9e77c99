import type { LabEvent } from '../../src/common/events.ts';
import type { Lab, LabHost, ProbeOutcome, ProbeRequest } from '../../src/runtime/runtime.ts';
import type { IdentdBehaviour, ResolvedTopology } from '../../src/topology/model.ts';

/**
 * A scripted Lab for runner tests: `probe` returns what the script says and appends the
 * script's events; every fault step is recorded; `replaceConfig` answers as told.
 */
export interface FakeScript {
  probe(request: ProbeRequest, lab: FakeLab): { outcome: ProbeOutcome; events: readonly LabEvent[] };
  replaceConfig?: (host: string, file: string, text: string) => { reloaded: boolean; error?: string };
  failStep?: (what: string) => string | undefined;
}

export class FakeLab implements Lab {
  readonly runtime = 'local' as const;
  readonly runId = 'fake';
  readonly steps: string[] = [];
  private readonly log: LabEvent[] = [];

  constructor(
    readonly topology: ResolvedTopology,
    private readonly script: FakeScript,
  ) {}

  host(name: string): LabHost {
    const model = this.topology.hosts.find((h) => h.name === name)!;
    return {
      model,
      address: () => model.interfaces[0]!.address,
      reach: (port) => ({ address: '127.0.0.1', port }),
    };
  }
  events(): readonly LabEvent[] {
    return this.log;
  }
  async probe(request: ProbeRequest): Promise<ProbeOutcome> {
    const { outcome, events } = this.script.probe(request, this);
    this.log.push(...events);
    return outcome;
  }
  private step(what: string): void {
    this.steps.push(what);
    const err = this.script.failStep?.(what);
    if (err) throw new Error(err);
  }
  async stopHost(name: string) {
    this.step(`stop ${name}`);
  }
  async startHost(name: string) {
    this.step(`start ${name}`);
  }
  async setIdentd(host: string, behaviour: IdentdBehaviour) {
    this.step(`identd ${host} ${behaviour.kind}`);
  }
  async replaceConfig(host: string, file: 'sockd.conf' | 'socks.conf' | 'sockd.route', text: string) {
    this.step(`replace ${host} ${file}`);
    return this.script.replaceConfig?.(host, file, text) ?? { reloaded: true };
  }
  async cutNetwork(network: string) {
    this.step(`cut ${network}`);
  }
  async restoreNetwork(network: string) {
    this.step(`restore ${network}`);
  }
  async down() {}
  async [Symbol.asyncDispose]() {}
}
