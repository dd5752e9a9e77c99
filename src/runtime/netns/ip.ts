import { execa } from 'execa';
import { SockslabError } from '../../common/errors.ts';

/**
 * The `ip` command (iproute2), the only way this driver changes the kernel's network state.
 * Command lists go through `ip -batch -` on stdin: one process per namespace instead of one per
 * command. Nothing here dials an address.
 */

export class IpCommandError extends SockslabError {
  constructor(
    readonly argv: readonly string[],
    readonly stderr: string,
    readonly input?: string,
  ) {
    super('E_NETNS_IP', `ip ${argv.join(' ')} failed: ${stderr.trim() || 'no message'}`);
  }
}

async function ip(argv: readonly string[], input?: string): Promise<string> {
  const r = await execa('ip', [...argv], {
    reject: false,
    ...(input !== undefined ? { input } : { stdin: 'ignore' as const }),
  });
  if (r.exitCode !== 0 || r.failed) throw new IpCommandError(argv, String(r.stderr || r.message), input);
  return String(r.stdout);
}

/** Runs `lines` with `ip [-n namespace] -batch -`; `force` goes on past failing lines (teardown). */
export async function ipBatch(
  lines: readonly string[],
  options: { readonly namespace?: string; readonly force?: boolean } = {},
): Promise<void> {
  if (lines.length === 0) return;
  const argv = [
    ...(options.namespace ? ['-n', options.namespace] : []),
    ...(options.force ? ['-force'] : []),
    '-batch',
    '-',
  ];
  await ip(argv, `${lines.join('\n')}\n`);
}

/** Names of every network namespace on the machine (`ip netns list`). */
export async function listNamespaces(): Promise<string[]> {
  const out = await ip(['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

/** PIDs of the processes whose network namespace is `namespace` (empty when it is gone). */
export async function namespacePids(namespace: string): Promise<number[]> {
  try {
    const out = await ip(['netns', 'pids', namespace]);
    return out
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

interface LinkJson {
  readonly ifname?: string;
  readonly operstate?: string;
}

/** Operational state of links in a namespace (optionally only veths), by name. */
export async function linkStates(namespace: string, type?: 'veth' | 'bridge'): Promise<Map<string, string>> {
  const out = await ip(['-n', namespace, '-j', 'link', 'show', ...(type ? ['type', type] : [])]);
  const links = JSON.parse(out || '[]') as LinkJson[];
  return new Map(links.map((l) => [l.ifname ?? '?', l.operstate ?? 'UNKNOWN']));
}

/**
 * Waits until every named link of each namespace reports operstate UP. The kernel applies a veth's
 * carrier up to a second after `link set up` (linkwatch); packets sent before that are dropped.
 */
export async function waitLinksUp(
  wanted: ReadonlyMap<string, readonly string[]>,
  timeoutMs: number,
  pollMs = 40,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Map([...wanted].filter(([, links]) => links.length > 0));
  for (;;) {
    await Promise.all(
      [...pending].map(async ([ns, links]) => {
        const states = await linkStates(ns);
        if (links.every((l) => states.get(l) === 'UP')) pending.delete(ns);
      }),
    );
    if (pending.size === 0) return;
    if (Date.now() > deadline) {
      const which = [...pending].map(([ns, links]) => `${ns}: ${links.join(', ')}`).join('; ');
      throw new SockslabError('E_NETNS_CARRIER', `links did not come up within ${timeoutMs} ms (${which})`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** `ip -V`: whether iproute2 is installed, with its version text. */
export async function ipVersion(): Promise<string> {
  return (await ip(['-V'])).trim();
}
