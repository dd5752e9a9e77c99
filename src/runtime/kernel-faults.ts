import type { ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { SockslabError } from '../common/errors.ts';
import { oneAtATime } from '../common/one-at-a-time.ts';
import type { LinkFault } from '../topology/link-faults.ts';
import { chainSetup, type DelaySpec, type NetemSpec, planHostFaults } from './link-fault-rules.ts';
import { DelayerSource } from './nfqueue-delayer.ts';
import type { FaultSupport } from './runtime.ts';

/**
 * Link faults on real kernels (netns and docker runtimes): each host's share of the faults in
 * force becomes its own chains' rules (link-fault-rules.ts), delays run as NFQUEUE delayers in
 * its namespace (or netem where the kernel has it), and what the kernel offers is probed once,
 * in the lab's first namespace. A runtime supplies how to run a command inside a host's
 * network namespace; every command here runs only there, never in the machine's own.
 */

export interface NamespaceAccess {
  /** argv prefix that runs a program in the host's network namespace (e.g. `ip netns exec NS`, `nsenter -t PID -n`). */
  enter(host: string): Promise<readonly string[]>;
  /** The host's interface name on a network, where the runtime knows it (netem needs it). */
  ifnameOf?(host: string, network: string): string | undefined;
  readonly hosts: readonly string[];
  readonly unreachable: 'refused' | 'timeout';
}

interface RunningDelay {
  readonly spec: DelaySpec;
  readonly proc: ChildProcess;
}

const ReadyTimeoutMs = 10_000;

export class KernelFaults {
  private support: Promise<FaultSupport & { netem: boolean }> | undefined;
  private readonly chains = new Set<string>();
  private readonly queues = new Map<string, Map<string, number>>();
  private readonly delays = new Map<string, Map<string, RunningDelay>>();
  private readonly netems = new Map<string, NetemSpec[]>();
  private inForce: readonly LinkFault[] = [];
  private readonly oneChange = oneAtATime();

  constructor(private readonly ns: NamespaceAccess) {}

  private async run(host: string, argv: readonly string[], input?: string) {
    const enter = await this.ns.enter(host);
    const [file, ...args] = [...enter, ...argv];
    return execa(file!, args, {
      reject: false,
      timeout: 15_000,
      ...(input !== undefined ? { input } : { stdin: 'ignore' as const }),
    });
  }

  private async must(host: string, argv: readonly string[], input?: string): Promise<void> {
    const r = await this.run(host, argv, input);
    if (r.exitCode !== 0)
      throw new SockslabError(
        'E_LAB_FAULT',
        `host ${host}: ${argv[0]} failed: ${String(r.stderr || r.stdout || r.message).trim()}`,
      );
  }

  /** What the kernel offers for link faults, probed once (in the first host's namespace). */
  detect(): Promise<FaultSupport & { netem: boolean }> {
    this.support ??= this.probe();
    return this.support;
  }

  /** Tries each mechanism in the first host's namespace, noting what it found. */
  private async probe(): Promise<FaultSupport & { netem: boolean }> {
    const host = this.ns.hosts[0];
    if (host === undefined)
      return {
        cut: null,
        delay: null,
        loss: null,
        drop: null,
        reset: null,
        notes: ['no host'],
        netem: false,
      };
    const notes: string[] = [];
    const netem = await this.probeQdisc(host, notes, 'netem', ['netem', 'delay', '1ms']);
    await this.probeQdisc(host, notes, 'tbf', ['tbf', 'rate', '1mbit', 'burst', '32k', 'latency', '50ms']);
    const reject = await this.probeRule(host, notes, 'iptables REJECT', [
      '-p',
      'tcp',
      '-j',
      'REJECT',
      '--reject-with',
      'tcp-reset',
    ]);
    const statistic = await this.probeRule(host, notes, 'iptables statistic nth', [
      '-m',
      'statistic',
      '--mode',
      'nth',
      '--every',
      '2',
      '--packet',
      '0',
      '-j',
      'RETURN',
    ]);
    const nfqueue = await this.probeRule(host, notes, 'NFQUEUE', ['-j', 'NFQUEUE', '--queue-num', '9']);
    await this.run(
      host,
      ['iptables-restore', '-w', '--noflush'],
      '*filter\n:SOCKSLAB-PROBE - [0:0]\n-X SOCKSLAB-PROBE\nCOMMIT\n',
    );
    const delayer = nfqueue && (await this.probeDelayer(host, notes));
    return {
      netem,
      cut: reject ? 'iptables REJECT' : null,
      drop: reject ? 'iptables DROP' : null,
      reset: reject ? 'iptables REJECT tcp-reset' : null,
      loss: statistic ? 'iptables statistic (nth pattern)' : null,
      delay: delayer
        ? netem
          ? 'netem, else nfqueue delayer'
          : 'nfqueue delayer'
        : netem
          ? 'netem (outbound only)'
          : null,
      notes,
    };
  }

  /** Whether a qdisc can be added on the namespace's lo (removed again at once). */
  private async probeQdisc(
    host: string,
    notes: string[],
    what: string,
    qdisc: readonly string[],
  ): Promise<boolean> {
    const r = await this.run(host, ['tc', 'qdisc', 'add', 'dev', 'lo', 'root', ...qdisc]);
    if (r.exitCode === 0) await this.run(host, ['tc', 'qdisc', 'del', 'dev', 'lo', 'root']);
    const why = String(r.stderr || r.message)
      .trim()
      .split('\n')[0];
    notes.push(`${what}: ${r.exitCode === 0 ? 'yes' : `no (${why})`}`);
    return r.exitCode === 0;
  }

  /** Whether iptables takes a rule, tried in a probe chain (SOCKSLAB-PROBE, deleted after). */
  private async probeRule(
    host: string,
    notes: string[],
    what: string,
    words: readonly string[],
  ): Promise<boolean> {
    const r = await this.run(
      host,
      ['iptables-restore', '-w', '--noflush'],
      `*filter\n:SOCKSLAB-PROBE - [0:0]\n-A SOCKSLAB-PROBE ${words.join(' ')}\nCOMMIT\n`,
    );
    notes.push(`${what}: ${r.exitCode === 0 ? 'yes' : 'no'}`);
    return r.exitCode === 0;
  }

  /** Whether the python3 NFQUEUE delayer starts here (stopped again at once). */
  private async probeDelayer(host: string, notes: string[]): Promise<boolean> {
    try {
      const d = await this.startDelayer(host, { key: 'probe', ms: 0, queue: 65_000 });
      stopDelayer(d);
      notes.push('nfqueue delayer (python3): yes');
      return true;
    } catch (err) {
      notes.push(`nfqueue delayer (python3): no (${(err as Error).message})`);
      return false;
    }
  }

  private startDelayer(host: string, spec: DelaySpec): Promise<RunningDelay> {
    return (async () => {
      const enter = await this.ns.enter(host);
      const [file, ...args] = [...enter, 'python3', '-c', DelayerSource, String(spec.queue), String(spec.ms)];
      const proc = execa(file!, args, {
        stdin: 'pipe',
        stdout: 'pipe',
        stderr: 'pipe',
        reject: false,
        buffer: false,
      });
      proc.catch(() => {});
      const child = proc as unknown as ChildProcess;
      await new Promise<void>((resolve, reject) => {
        let err = '';
        const timer = setTimeout(() => fail(`no ready line within ${ReadyTimeoutMs} ms`), ReadyTimeoutMs);
        const fail = (why: string) => {
          clearTimeout(timer);
          child.kill('SIGKILL');
          reject(new SockslabError('E_LAB_FAULT', `host ${host}: delayer for queue ${spec.queue}: ${why}`));
        };
        child.stderr?.on('data', (c: Buffer) => {
          err += c.toString('utf8');
        });
        child.stdout?.on('data', (c: Buffer) => {
          if (c.toString('utf8').includes('ready')) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', (code) => fail(`exited (${code}): ${err.trim()}`));
      });
      return { spec, proc: child };
    })();
  }

  /** Makes exactly `faults` be in force on every host (one change at a time). */
  apply(faults: readonly LinkFault[]): Promise<void> {
    return this.oneChange(() => this.reconcile(faults));
  }

  private async reconcile(faults: readonly LinkFault[]): Promise<void> {
    const support = await this.detect();
    for (const f of faults) {
      const how = support[f.effect.kind];
      if (!how)
        throw new SockslabError('E_LAB_FAULT', `${f.id}: this kernel cannot (${support.notes.join(', ')})`);
    }
    const touched = new Set([...faults, ...this.inForce].map((f) => f.host));
    await Promise.all([...touched].map((host) => this.reconcileHost(host, faults, support.netem)));
    this.inForce = faults;
  }

  private async reconcileHost(host: string, faults: readonly LinkFault[], netem: boolean): Promise<void> {
    const queues = this.queues.get(host) ?? new Map<string, number>();
    this.queues.set(host, queues);
    const plan = planHostFaults(host, faults, {
      unreachable: this.ns.unreachable,
      netem,
      queues,
      ...(this.ns.ifnameOf ? { ifnameOf: (n: string) => this.ns.ifnameOf?.(host, n) } : {}),
    });
    if (!this.chains.has(host)) {
      await this.must(host, ['iptables-restore', '-w', '--noflush'], chainSetup());
      this.chains.add(host);
    }
    // Delayers first (a queue without a reader drops), then the rules, then retire old delayers.
    const running = this.delays.get(host) ?? new Map<string, RunningDelay>();
    this.delays.set(host, running);
    const wanted = new Map(plan.delays.map((d) => [d.key, d]));
    for (const d of plan.delays) {
      const r = running.get(d.key);
      if (r && r.spec.ms === d.ms && r.spec.queue === d.queue) continue;
      running.set(d.key, await this.startDelayer(host, d));
      if (r) stopDelayer(r);
    }
    await this.must(host, ['iptables-restore', '-w', '--noflush'], plan.restore);
    for (const [key, r] of running) {
      if (!wanted.has(key)) {
        stopDelayer(r);
        running.delete(key);
      }
    }
    const before = this.netems.get(host) ?? [];
    for (const n of before)
      if (!plan.netem.some((m) => m.ifname === n.ifname))
        await this.run(host, ['tc', 'qdisc', 'del', 'dev', n.ifname, 'root']);
    for (const n of plan.netem)
      await this.must(host, [
        'tc',
        'qdisc',
        'replace',
        'dev',
        n.ifname,
        'root',
        'netem',
        'delay',
        `${n.ms}ms`,
      ]);
    this.netems.set(host, [...plan.netem]);
  }

  /** Delayer processes still running (for tests: none after heal or down). */
  delayerPids(): number[] {
    return [...this.delays.values()].flatMap((m) => [...m.values()].map((r) => r.proc.pid ?? 0));
  }

  /** Stops every delayer (the namespaces and their rules go with the lab). */
  close(): void {
    for (const m of this.delays.values()) for (const r of m.values()) stopDelayer(r);
    this.delays.clear();
  }
}

function stopDelayer(r: RunningDelay): void {
  r.proc.stdin?.end();
  r.proc.kill('SIGTERM');
}
