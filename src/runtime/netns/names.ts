/**
 * Names of a lab's namespaces. Every namespace of a run starts with `sockslab-<run>-p<owner pid>-`,
 * so a run is found (and removed) by prefix alone and a dead owner marks a leftover. Interface
 * names are per namespace and short (the kernel allows 15 characters).
 */

export const NamespacePrefix = 'sockslab-';

/** Run ids and host names become namespace name parts: only [A-Za-z0-9_], nothing else. */
export function namePart(text: string): string {
  const safe = text.replace(/[^A-Za-z0-9_]/g, '_');
  return safe.length > 0 ? safe : '_';
}

/** The prefix shared by every namespace of one run. */
export function runPrefix(runId: string, ownerPid: number): string {
  return `${NamespacePrefix}${namePart(runId)}-p${ownerPid}-`;
}

/** The namespace holding one bridge per network. */
export function switchNamespace(prefix: string): string {
  return `${prefix}sw`;
}

/** A host's namespace: its index keeps names unique when two host names sanitise alike. */
export function hostNamespace(prefix: string, index: number, host: string): string {
  // netns names are file names under /run/netns: keep them well under NAME_MAX.
  return `${prefix}h${index}-${namePart(host).slice(0, 48)}`;
}

export interface ParsedNamespace {
  readonly name: string;
  readonly runId: string;
  readonly ownerPid: number;
  /** `sw`, or `h<index>-<host>` */
  readonly role: string;
}

const pattern = /^sockslab-([A-Za-z0-9_]+)-p(\d+)-(.+)$/;

/** A namespace name of ours, taken apart; null for anything else on the machine. */
export function parseNamespace(name: string): ParsedNamespace | null {
  const m = pattern.exec(name);
  if (!m?.[1] || !m[2] || !m[3]) return null;
  return { name, runId: m[1], ownerPid: Number(m[2]), role: m[3] };
}

/** `eth<k>` inside a host: its k-th interface of the topology. */
export function hostInterface(k: number): string {
  return `eth${k}`;
}

/** The switch-side end of host i's k-th interface (`h12e1`). */
export function switchPort(hostIndex: number, k: number): string {
  return `h${hostIndex}e${k}`;
}

/** The bridge of the n-th network in the switch namespace. */
export function bridgeName(n: number): string {
  return `br${n}`;
}
