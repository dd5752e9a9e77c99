import { createHash } from 'node:crypto';
import { access } from 'node:fs/promises';
import { execa } from 'execa';

/**
 * Makes a lab hermetic and its missing routes fail fast. Docker gives every container a default
 * route to the host's address on the bridge; off-network traffic then reaches the host, whose
 * isolation rules drop it silently, so a connect to an address the host cannot reach hangs until
 * a timer fires (the local and netns runtimes fail at once). For each lab bridge we add, tagged
 * with the run id so they can be found again:
 * - in DOCKER-USER (FORWARD): anything entering from the bridge and leaving by another interface
 *   is rejected with ICMP network-unreachable (the sender sees ENETUNREACH, as on a host without a
 *   route);
 * - in INPUT: a new connection from the bridge to the host itself is rejected (ECONNREFUSED), so
 *   a lab host can never reach the machine's own services through the gateway address.
 * Without iptables (or without permission) the lab still works; unreachable targets then time out.
 */

const comment = (runId: string) => `sockslab:${runId}`;

/** A bridge name for a Docker network (IFNAMSIZ: at most 15 characters), stable per network name. */
export function bridgeName(dockerNetwork: string): string {
  return `sl${createHash('sha256').update(dockerNetwork).digest('hex').slice(0, 12)}`;
}

/** How off-network traffic fails: at once (ENETUNREACH) or by silence (the sender's timer fires). */
export type Unreachable = 'refused' | 'timeout';

function rules(runId: string, bridge: string, unreachable: Unreachable): string[][] {
  const tag = ['-m', 'comment', '--comment', comment(runId)];
  const verdict = unreachable === 'timeout' ? ['DROP'] : ['REJECT', '--reject-with', 'icmp-net-unreachable'];
  return [
    ['DOCKER-USER', '-i', bridge, '!', '-o', bridge, ...tag, '-j', ...verdict],
    // NEW only: answers to connections the machine opened (a person probing `sockslab up`) pass.
    [
      'INPUT',
      '-i',
      bridge,
      '-m',
      'conntrack',
      '--ctstate',
      'NEW',
      ...tag,
      '-j',
      'REJECT',
      '--reject-with',
      'icmp-port-unreachable',
    ],
  ];
}

async function iptables(args: readonly string[]): Promise<boolean> {
  try {
    await execa('iptables', ['-w', ...args], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** One iptables-restore transaction: all the lines or none, one process instead of one per rule. */
async function restore(lines: readonly string[]): Promise<boolean> {
  const input = `*filter\n${lines.join('\n')}\nCOMMIT\n`;
  try {
    await execa('iptables-restore', ['-w', '--noflush'], { input, timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

function line(op: '-I' | '-D', rule: readonly string[]): string {
  return [op, ...rule.map((w) => (/^[\w.:!/+-]+$/.test(w) ? w : `"${w}"`))].join(' ');
}

/** Whether a network interface of that name exists in this process's network namespace. */
async function isLocalInterface(name: string): Promise<boolean> {
  try {
    await access(`/sys/class/net/${name}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs the rules of one lab; returns false when iptables could not be used (the lab goes on).
 * Only where the lab's bridges are: an engine on another machine (or in another network
 * namespace, DOCKER_HOST) keeps its bridges out of reach of this machine's iptables, and its own
 * isolation rules apply there; off-network connects then time out instead of failing at once.
 */
export async function isolateBridges(
  runId: string,
  bridges: readonly string[],
  unreachable: Unreachable = 'refused',
): Promise<boolean> {
  const local = (await Promise.all(bridges.map(isLocalInterface))).every(Boolean);
  if (bridges.length === 0 || !local) return false;
  const all = bridges.flatMap((b) => rules(runId, b, unreachable));
  if (await restore(all.map((r) => line('-I', r)))) return true;
  // No iptables-restore: one call per rule.
  let ok = true;
  for (const r of all) ok = (await iptables(['-I', ...r])) && ok;
  return ok;
}

/** Rules carrying `sockslab:<run>`, as `[chain, ...spec]` ready for `-D`. */
async function taggedRules(): Promise<{ runId: string; rule: string[] }[]> {
  const out: { runId: string; rule: string[] }[] = [];
  for (const chain of ['DOCKER-USER', 'INPUT']) {
    let text: string;
    try {
      text = (await execa('iptables', ['-w', '-S', chain], { timeout: 10_000 })).stdout;
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const m = /--comment "?sockslab:([^"\s]+)"?/.exec(line);
      if (!m?.[1] || !line.startsWith('-A ')) continue;
      // `-S` prints the rule as it would be added; the same words after the chain delete it.
      const words = line.slice(3).match(/"[^"]*"|\S+/g) ?? [];
      out.push({ runId: m[1], rule: words.map((w) => w.replace(/^"|"$/g, '')) });
    }
  }
  return out;
}

/** The bridge a rule is about (its `-i` interface). */
function bridgeOf(rule: readonly string[]): string | undefined {
  const i = rule.indexOf('-i');
  return i >= 0 ? rule[i + 1] : undefined;
}

/**
 * Removes the rules of `runId`, or, when no run id is given, the orphans: rules of a run `keep`
 * rejects whose bridge no longer exists here. The bridge test matters: the caller's `keep` knows
 * the runs of one engine only (a `reap` against DOCKER_HOST), and a lab of another engine on this
 * machine that is up must keep its isolation. dockerd rewrites its own chains while networks go
 * away, and nf_tables then refuses a concurrent delete, so what is still there is retried.
 */
export async function removeIsolation(
  runId: string | null,
  keep: (runId: string) => boolean = () => false,
): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const tagged = await taggedRules();
    const bridgeUp = new Map<string, boolean>();
    for (const r of tagged) {
      const b = bridgeOf(r.rule);
      if (b !== undefined && !bridgeUp.has(b)) bridgeUp.set(b, await isLocalInterface(b));
    }
    const doomed = tagged.filter((r) => {
      if (runId !== null) return r.runId === runId;
      const b = bridgeOf(r.rule);
      return !keep(r.runId) && !(b !== undefined && bridgeUp.get(b));
    });
    if (doomed.length === 0) return;
    if (!(await restore(doomed.map((r) => line('-D', r.rule))))) {
      for (const r of doomed) await iptables(['-D', ...r.rule]);
    }
    await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
  }
}
