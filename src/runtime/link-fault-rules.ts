import type { FaultKind, LinkFault } from '../topology/link-faults.ts';

/**
 * Link faults as kernel state of one host's network namespace (netns and docker runtimes), as
 * data: the iptables-restore text of the lab's own two chains and the delays to run. Pure; the
 * commands run in kernel-faults.ts.
 *
 * Everything lives in two chains of the host's own namespace, SOCKSLAB-IN (jumped to from
 * INPUT) and SOCKSLAB-OUT (from OUTPUT), rewritten whole on every change: nothing outside the
 * lab's namespaces is ever touched, and healing is writing them empty. An interface is named
 * by the host's address on it (`-d` inbound, `-s` outbound, never on lo), which needs no
 * interface name, so the same rules serve a netns host and a container.
 *
 * - cut: REJECT — inbound with ICMP host-unreachable (the sender's connect fails at once,
 *   EHOSTUNREACH), outbound with ICMP net-unreachable (ENETUNREACH, as with no route); under
 *   `unreachable: timeout` DROP instead. Rules rather than `ip link set down`: a downed veth
 *   leaves the other hosts' ARP caches deciding between a timeout and a late EHOSTUNREACH.
 * - drop: DROP (the connect times out on the caller's timer).
 * - reset: inbound TCP answered with REJECT tcp-reset (ECONNREFUSED; an established connection
 *   gets the RST at its next segment).
 * - loss: a fixed nth pattern (`-m statistic --mode nth`, never `random`: the kernel's random
 *   cannot be seeded) on data-carrying segments only (no SYN, FIN or RST, longer than a bare
 *   ACK), so connection set-up is never hit and TCP's retransmission hides the loss from outcomes.
 * - delay: NFQUEUE to a userspace delayer that holds each verdict (nfqueue-delayer.ts), or
 *   netem on the interface where the kernel has it and the fault is a plain outbound delay.
 */

export const ChainIn = 'SOCKSLAB-IN';
export const ChainOut = 'SOCKSLAB-OUT';

/** A delay to run: queue `queue` holds every packet `ms` before it passes. */
export interface DelaySpec {
  /** Stable for one fault and direction of one host. */
  readonly key: string;
  readonly ms: number;
  readonly queue: number;
}

export interface NetemSpec {
  readonly key: string;
  readonly ifname: string;
  readonly ms: number;
}

export interface HostFaultPlan {
  /** iptables-restore --noflush input: both chains declared (so flushed) and refilled. */
  readonly restore: string;
  readonly delays: readonly DelaySpec[];
  readonly netem: readonly NetemSpec[];
}

/** The order rules are met in a chain: what decides first, then what only slows. */
const Priority: Record<FaultKind, number> = { cut: 0, drop: 1, reset: 2, loss: 3, delay: 4 };

export interface PlanOptions {
  readonly unreachable: 'refused' | 'timeout';
  /** The kernel has netem: plain outbound delays use it (else every delay is NFQUEUE). */
  readonly netem: boolean;
  /** The host's interface name on a network, where known (netem needs it). */
  readonly ifnameOf?: (network: string) => string | undefined;
  /** Queue numbers already given to delays of this host (kept while the delay stays). */
  readonly queues: Map<string, number>;
}

function quote(word: string): string {
  return /^[\w.,:!/+-]+$/.test(word) ? word : `"${word.replace(/["\\]/g, '\\$&')}"`;
}

/** The plan for one host's faults (those of other hosts are ignored), in chain order. */
export function planHostFaults(
  host: string,
  faults: readonly LinkFault[],
  options: PlanOptions,
): HostFaultPlan {
  const mine = faults
    .filter((f) => f.host === host)
    .sort((a, b) => Priority[a.effect.kind] - Priority[b.effect.kind]);
  const plan: PlanDraft = {
    lines: [],
    delays: [],
    netem: [],
    cutOnAddress: new Set(),
    queueFor: queueAllocator(options.queues),
  };
  for (const f of mine) {
    const dirs: Direction[] = f.direction === 'both' ? ['in', 'out'] : [f.direction];
    for (const dir of dirs) for (const port of portMatches(f)) addRules(plan, f, dir, port, options);
  }
  // Delays no longer planned give their queue numbers back.
  const keys = new Set(plan.delays.map((d) => d.key));
  for (const k of [...options.queues.keys()]) if (!keys.has(k)) options.queues.delete(k);
  return { restore: restoreText(plan), delays: plan.delays, netem: plan.netem };
}

type Direction = 'in' | 'out';

/** A plan being filled, fault by fault. */
interface PlanDraft {
  readonly lines: { readonly chain: string; readonly words: readonly string[] }[];
  readonly delays: DelaySpec[];
  readonly netem: NetemSpec[];
  /** Host addresses with a cut: their ICMP answers must pass the outbound chain. */
  readonly cutOnAddress: Set<string>;
  readonly queueFor: (key: string) => number;
}

/** Queue numbers by delay key: a known key keeps its number, a new one takes the lowest free. */
function queueAllocator(queues: Map<string, number>): (key: string) => number {
  const used = new Set(queues.values());
  return (key) => {
    const known = queues.get(key);
    if (known !== undefined) return known;
    let q = 1;
    while (used.has(q)) q++;
    used.add(q);
    queues.set(key, q);
    return q;
  };
}

/** A port names the connection's service port: ours (dport in, sport out) or the peer's. */
function portMatches(f: LinkFault): string[][] {
  if (f.port === undefined) return [[]];
  if (f.effect.kind === 'reset') return [['--dport', String(f.port)]];
  return [
    ['--dport', String(f.port)],
    ['--sport', String(f.port)],
  ];
}

/** The rules of one fault in one direction for one port match (netem delays add none). */
function addRules(plan: PlanDraft, f: LinkFault, dir: Direction, port: string[], options: PlanOptions): void {
  const chain = dir === 'in' ? ChainIn : ChainOut;
  const where =
    dir === 'in'
      ? ['!', '-i', 'lo', '-d', f.address, ...(f.peer ? ['-s', f.peer.address] : [])]
      : ['!', '-o', 'lo', '-s', f.address, ...(f.peer ? ['-d', f.peer.address] : [])];
  const e = f.effect;
  const tcp = f.port !== undefined || e.kind === 'loss' || e.kind === 'reset';
  const match = [...where, ...(tcp ? ['-p', 'tcp', ...port] : [])];
  const add = (...tail: string[]) => plan.lines.push({ chain, words: [...match, ...tail] });
  switch (e.kind) {
    case 'cut':
      plan.cutOnAddress.add(f.address);
      if (options.unreachable === 'timeout') add('-j', 'DROP');
      else
        add('-j', 'REJECT', '--reject-with', dir === 'in' ? 'icmp-host-unreachable' : 'icmp-net-unreachable');
      return;
    case 'drop':
      add('-j', 'DROP');
      return;
    case 'reset':
      add('-j', 'REJECT', '--reject-with', 'tcp-reset');
      return;
    case 'loss': {
      const data = ['--tcp-flags', 'SYN,RST,FIN', 'NONE', '-m', 'length', '--length', '53:65535'];
      const nth = ['-m', 'statistic', '--mode', 'nth', '--every', String(e.every), '--packet', '0'];
      if (e.dropNth) add(...data, ...nth, '-j', 'DROP');
      else {
        add(...data, ...nth, '-j', 'RETURN');
        add(...data, '-j', 'DROP');
      }
      return;
    }
    case 'delay': {
      const key = `${f.id}|${dir}|${port.join(' ')}`;
      const ifname = options.ifnameOf?.(f.network);
      const plainOut = dir === 'out' && f.peer === undefined && f.port === undefined;
      if (options.netem && plainOut && ifname && !plan.netem.some((n) => n.ifname === ifname)) {
        plan.netem.push({ key, ifname, ms: e.ms });
        return;
      }
      const queue = plan.queueFor(key);
      plan.delays.push({ key, ms: e.ms, queue });
      add('-j', 'NFQUEUE', '--queue-num', String(queue));
      return;
    }
  }
}

/** The iptables-restore text: both chains declared (so flushed), then every rule in order. */
function restoreText(plan: PlanDraft): string {
  // The ICMP answers of an inbound cut must leave through the outbound one.
  const icmpFirst = [...plan.cutOnAddress].map((address) => ({
    chain: ChainOut,
    words: ['-s', address, '-p', 'icmp', '--icmp-type', 'destination-unreachable', '-j', 'RETURN'],
  }));
  const body = [...icmpFirst, ...plan.lines].map((l) => `-A ${l.chain} ${l.words.map(quote).join(' ')}`);
  return `*filter\n:${ChainIn} - [0:0]\n:${ChainOut} - [0:0]\n${body.join('\n')}${body.length ? '\n' : ''}COMMIT\n`;
}

/** iptables-restore --noflush input that creates the chains and the jumps to them (once per host). */
export function chainSetup(): string {
  return `*filter\n:${ChainIn} - [0:0]\n:${ChainOut} - [0:0]\n-I INPUT -j ${ChainIn}\n-I OUTPUT -j ${ChainOut}\nCOMMIT\n`;
}
