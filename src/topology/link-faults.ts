import { z } from 'zod';
import type { HostModel } from './model.ts';

/**
 * Link faults: the one vocabulary for faults on one host interface (host + network) — a cut,
 * a delay, a deterministic loss, a one-way drop, TCP resets — used by the topology's standing
 * `faults:` list, by the scenario's `fault:`/`heal:` steps, by every runtime that applies them
 * and by the predictor. Raw (YAML) shape and resolved shape both live here, so the three places
 * can never disagree on what a fault means.
 *
 * Directions are the interface's: `in` = packets arriving at the host on that interface, `out`
 * = packets it sends there. `from: C, to: B` is the one-way form: C's packets to B (out on C's
 * interface towards B) are affected, B's to C pass.
 */

const Duration = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+(?:\.\d+)?\s*(?:ms|s|m)$/)])
  .describe('milliseconds, or a string such as 2500ms, 2s');

export const FaultDirection = z.enum(['in', 'out', 'both']);

/** A fault as written in YAML (topology `faults:` entries and scenario `fault:` steps). */
export const LinkFaultRaw = z
  .strictObject({
    host: z.string().optional().describe('the host whose interface is faulty'),
    network: z
      .string()
      .optional()
      .describe('which of its interfaces (default: its only one, or the one shared with peer/to)'),
    from: z.string().optional().describe('one-way form: packets of this host to `to` (use instead of host)'),
    to: z.string().optional().describe('one-way form: the receiving host'),
    direction: FaultDirection.optional().describe('in, out or both (default both; reset: in)'),
    peer: z.string().optional().describe('only packets exchanged with this host'),
    port: z.number().int().min(1).max(65535).optional().describe('only TCP connections to or from this port'),
    cut: z.literal(true).optional().describe('the interface is unplugged (connects fail at once)'),
    delay: Duration.optional().describe('every packet crossing the interface waits this long'),
    loss: z
      .number()
      .gt(0)
      .lt(100)
      .optional()
      .describe('percent of data-carrying TCP segments dropped, by a fixed pattern (TCP retransmits them)'),
    drop: z.literal(true).optional().describe('every packet is dropped silently (connects time out)'),
    reset: z
      .literal(true)
      .optional()
      .describe('TCP connections arriving on the interface are answered with RST'),
  })
  .describe('a fault on one host interface: exactly one of cut, delay, loss, drop, reset');

export type RawLinkFault = z.infer<typeof LinkFaultRaw>;

export type FaultEffect =
  | { readonly kind: 'cut' }
  | { readonly kind: 'delay'; readonly ms: number }
  /**
   * A fixed pattern of data segments dropped: `every` N-th segment dropped (drop: true) or only
   * every N-th segment passing (drop: false, above 50 %). `percent` is the share it really drops.
   */
  | { readonly kind: 'loss'; readonly percent: number; readonly every: number; readonly dropNth: boolean }
  | { readonly kind: 'drop' }
  | { readonly kind: 'reset' };

export type FaultKind = FaultEffect['kind'];

export interface LinkFault {
  /** Canonical text of the fault; equal faults have equal ids. */
  readonly id: string;
  readonly host: string;
  readonly network: string;
  /** The host's address on that network. */
  readonly address: string;
  readonly direction: 'in' | 'out' | 'both';
  readonly peer?: { readonly host: string; readonly address: string };
  readonly port?: number;
  readonly effect: FaultEffect;
}

export class LinkFaultError extends Error {
  constructor(
    readonly path: readonly (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

const Kinds = ['cut', 'delay', 'loss', 'drop', 'reset'] as const;

export function parseFaultDuration(d: number | string): number {
  if (typeof d === 'number') return d;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)$/.exec(d);
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000);
}

/** The fixed pattern closest to `percent`: drop 1 in N (≤ 50 %), else pass 1 in N. */
export function lossPattern(percent: number): Extract<FaultEffect, { kind: 'loss' }> {
  if (percent <= 50) {
    const every = Math.max(2, Math.round(100 / percent));
    return { kind: 'loss', percent: 100 / every, every, dropNth: true };
  }
  const every = Math.max(2, Math.round(100 / (100 - percent)));
  return { kind: 'loss', percent: 100 - 100 / every, every, dropNth: false };
}

function describeEffect(e: FaultEffect): string {
  switch (e.kind) {
    case 'delay':
      return `delay ${e.ms}ms`;
    case 'loss':
      return `loss ${Math.round(e.percent * 10) / 10}% (${e.dropNth ? 'every' : 'all but every'} ${e.every}th data segment)`;
    default:
      return e.kind;
  }
}

/** `delay 2500ms on A1@dmz in from B port 1080`: one line for logs, reports and ids. */
export function describeFault(f: Omit<LinkFault, 'id'>): string {
  const parts = [describeEffect(f.effect), `on ${f.host}@${f.network}`];
  if (f.direction !== 'both') parts.push(f.direction);
  if (f.peer) parts.push(`${f.direction === 'out' ? 'to' : 'with'} ${f.peer.host}`);
  if (f.port !== undefined) parts.push(`port ${f.port}`);
  return parts.join(' ');
}

function fail(path: (string | number)[], message: string): never {
  throw new LinkFaultError(path, message);
}

/**
 * Resolves a raw fault against the topology's hosts: its one effect, the hosts at its ends, the
 * interface it sits on, the direction and the effect's parameters, checked in that order.
 * Errors are LinkFaultErrors with the path (relative to the fault) of the key at fault, for the
 * caller to locate in its YAML.
 */
export function resolveLinkFault(raw: RawLinkFault, hosts: readonly HostModel[]): LinkFault {
  const kind = faultKind(raw);
  const { host, peerHost, oneWay } = faultEnds(raw, hosts);
  const { network, address } = faultInterface(raw, host, peerHost);
  let peer: LinkFault['peer'];
  if (peerHost) {
    const p =
      peerHost.interfaces.find((i) => i.network === network) ??
      fail([oneWay ? 'to' : 'peer'], `${peerHost.name} is not on ${network}`);
    peer = { host: peerHost.name, address: p.address };
  }
  const resolved = {
    host: host.name,
    network,
    address,
    direction: faultDirection(raw, kind, oneWay),
    ...(peer ? { peer } : {}),
    ...(raw.port !== undefined ? { port: raw.port } : {}),
    effect: faultEffect(raw, kind),
  } satisfies Omit<LinkFault, 'id'>;
  return { id: describeFault(resolved), ...resolved };
}

/** The fault's one effect key (cut, delay, loss, drop or reset). */
function faultKind(raw: RawLinkFault): FaultKind {
  const kinds = Kinds.filter((k) => raw[k] !== undefined);
  if (kinds.length !== 1)
    fail(
      [],
      `a fault has exactly one of ${Kinds.join(', ')}${kinds.length ? ` (got ${kinds.join(', ')})` : ''}`,
    );
  return kinds[0] as FaultKind;
}

/** The faulty host and the peer it is limited to: `host` (+ `peer`), or the one-way `from` + `to`. */
function faultEnds(
  raw: RawLinkFault,
  hosts: readonly HostModel[],
): { host: HostModel; peerHost: HostModel | undefined; oneWay: boolean } {
  const byName = (name: string, key: string): HostModel =>
    hosts.find((h) => h.name === name) ??
    fail([key], `unknown host "${name}"; hosts: ${hosts.map((h) => h.name).join(', ')}`);
  if ((raw.from !== undefined || raw.to !== undefined) && (raw.host !== undefined || raw.peer !== undefined))
    fail(['from'], 'use either host (+ peer) or from + to, not both');
  if ((raw.from === undefined) !== (raw.to === undefined)) fail(['from'], 'from and to go together');
  const oneWay = raw.from !== undefined;
  if (oneWay && raw.direction !== undefined)
    fail(['direction'], 'from + to is one-way already (out from `from`)');
  const host = oneWay
    ? byName(raw.from!, 'from')
    : raw.host !== undefined
      ? byName(raw.host, 'host')
      : fail([], 'a fault names host (or from + to)');
  const peerHost = oneWay
    ? byName(raw.to!, 'to')
    : raw.peer !== undefined
      ? byName(raw.peer, 'peer')
      : undefined;
  return { host, peerHost, oneWay };
}

/** The interface of `host` the fault sits on: the one named, else its only one (shared with the peer). */
function faultInterface(
  raw: RawLinkFault,
  host: HostModel,
  peerHost: HostModel | undefined,
): { network: string; address: string } {
  let network = raw.network;
  if (network === undefined) {
    const candidates = host.interfaces.filter(
      (i) => !peerHost || peerHost.interfaces.some((p) => p.network === i.network),
    );
    if (candidates.length !== 1)
      fail(
        ['host'],
        `${host.name} has ${candidates.length === 0 ? 'no interface' : 'several interfaces'}${peerHost ? ` shared with ${peerHost.name}` : ''}; say which with network:`,
      );
    network = candidates[0]!.network;
  }
  const iface =
    host.interfaces.find((i) => i.network === network) ??
    fail(
      ['network'],
      `${host.name} has no interface on ${network}; its networks: ${host.interfaces.map((i) => i.network).join(', ')}`,
    );
  return { network, address: iface.address };
}

/** `out` for the one-way form; else as written, by default both (a reset: in, the only way it works). */
function faultDirection(raw: RawLinkFault, kind: FaultKind, oneWay: boolean): LinkFault['direction'] {
  const direction = oneWay ? 'out' : (raw.direction ?? (kind === 'reset' ? 'in' : 'both'));
  if (kind === 'reset' && direction !== 'in')
    fail(
      ['direction'],
      'reset answers connections arriving at the host: direction in (put the fault on the other end for the other way)',
    );
  return direction;
}

function faultEffect(raw: RawLinkFault, kind: FaultKind): FaultEffect {
  switch (kind) {
    case 'delay': {
      const ms = parseFaultDuration(raw.delay!);
      if (!Number.isFinite(ms) || ms < 0) fail(['delay'], `bad duration ${String(raw.delay)}`);
      return { kind: 'delay', ms };
    }
    case 'loss':
      return lossPattern(raw.loss!);
    default:
      return { kind } as FaultEffect;
  }
}

/** Does fault `f` act on a packet crossing its interface in `dir`, exchanged with `other`, of a connection to `port`? */
export function faultMatches(
  f: LinkFault,
  dir: 'in' | 'out',
  otherAddress: string,
  servicePort: number,
): boolean {
  if (f.direction !== 'both' && f.direction !== dir) return false;
  if (f.peer && f.peer.address !== otherAddress) return false;
  if (f.port !== undefined && f.port !== servicePort) return false;
  return true;
}

/**
 * What faults do to one TCP connection from `from` to `to` (addresses on one network) for a
 * service on `port`: the first decisive fault, and the delays and losses each way. The local
 * runtime applies this; the predictor reasons with it; netns and docker get it from the kernel.
 */
export interface PathEffect {
  /** The connection cannot be made: how it fails. */
  readonly blocked?: {
    readonly how: 'net-unreachable' | 'host-unreachable' | 'timeout' | 'reset';
    readonly fault: LinkFault;
  };
  /** Added one-way delay, ms: client → server, server → client. */
  readonly forwardMs: number;
  readonly backwardMs: number;
  /** Loss patterns on data segments each way, with the side of their interface they count on. */
  readonly forwardLoss: readonly { readonly fault: LinkFault; readonly dir: 'in' | 'out' }[];
  readonly backwardLoss: readonly { readonly fault: LinkFault; readonly dir: 'in' | 'out' }[];
}

export function pathEffect(
  faults: readonly LinkFault[],
  from: { readonly host: string; readonly address: string },
  to: { readonly host: string; readonly address: string },
  port: number,
): PathEffect {
  const at = (host: string, address: string, dir: 'in' | 'out', other: string) =>
    faults.filter((f) => f.host === host && f.address === address && faultMatches(f, dir, other, port));
  const fwdOut = at(from.host, from.address, 'out', to.address);
  const fwdIn = at(to.host, to.address, 'in', from.address);
  const backOut = at(to.host, to.address, 'out', from.address);
  const backIn = at(from.host, from.address, 'in', to.address);
  const first = (list: LinkFault[], kind: FaultKind) => list.find((f) => f.effect.kind === kind);
  let blocked: PathEffect['blocked'];
  // In the order the SYN meets them: the sender's own interface, then the receiver's; then the SYN-ACK's way back.
  const cutOut = first(fwdOut, 'cut');
  const dropOut = first(fwdOut, 'drop');
  const cutIn = first(fwdIn, 'cut');
  const dropIn = first(fwdIn, 'drop');
  const reset = first(fwdIn, 'reset');
  const back =
    first(backOut, 'cut') ?? first(backOut, 'drop') ?? first(backIn, 'cut') ?? first(backIn, 'drop');
  if (cutOut) blocked = { how: 'net-unreachable', fault: cutOut };
  else if (dropOut) blocked = { how: 'timeout', fault: dropOut };
  else if (cutIn) blocked = { how: 'host-unreachable', fault: cutIn };
  else if (dropIn) blocked = { how: 'timeout', fault: dropIn };
  else if (reset) blocked = { how: 'reset', fault: reset };
  else if (back) blocked = { how: 'timeout', fault: back };
  const sum = (list: LinkFault[]) =>
    list.reduce((n, f) => n + (f.effect.kind === 'delay' ? f.effect.ms : 0), 0);
  const loss = (list: LinkFault[], dir: 'in' | 'out') =>
    list.filter((f) => f.effect.kind === 'loss').map((fault) => ({ fault, dir }));
  return {
    ...(blocked ? { blocked } : {}),
    forwardMs: sum(fwdOut) + sum(fwdIn),
    backwardMs: sum(backOut) + sum(backIn),
    forwardLoss: [...loss(fwdOut, 'out'), ...loss(fwdIn, 'in')],
    backwardLoss: [...loss(backOut, 'out'), ...loss(backIn, 'in')],
  };
}

/** The YAML form of a resolved fault (what `freeze` writes back). */
export function rawLinkFault(f: LinkFault): RawLinkFault {
  const e = f.effect;
  const effect: RawLinkFault =
    e.kind === 'delay'
      ? { delay: e.ms }
      : e.kind === 'loss'
        ? { loss: Math.round(e.percent * 100) / 100 }
        : ({ [e.kind]: true } as RawLinkFault);
  return {
    host: f.host,
    network: f.network,
    ...(f.direction !== (e.kind === 'reset' ? 'in' : 'both') ? { direction: f.direction } : {}),
    ...(f.peer ? { peer: f.peer.host } : {}),
    ...(f.port !== undefined ? { port: f.port } : {}),
    ...effect,
  };
}
