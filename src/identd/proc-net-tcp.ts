/**
 * Linux /proc/net/tcp and /proc/net/tcp6 text → socket rows, and the identd question "who owns
 * the connection from my port P to that host's port Q?". The netns and Docker runtimes' fake
 * identd answers with it from the real socket owner (design.md "identd across hops"). Pure: the
 * caller reads the files.
 *
 * Addresses in these files are the kernel's 32-bit words printed as hex in the host's byte
 * order (so 127.0.0.1 reads `0100007F` on little-endian machines); ports are plain hex.
 */

import type { Endpoint } from '../common/events.ts';
import { formatIPv4, formatIPv6 } from '../common/inet-address.ts';

export const TcpState = {
  /** 0x01: connected both ways */
  ESTABLISHED: 0x01,
  /** 0x02: our SYN sent, waiting */
  SYN_SENT: 0x02,
  /** 0x03: their SYN received, handshake in progress */
  SYN_RECV: 0x03,
  /** 0x04: we closed, our FIN not yet acknowledged */
  FIN_WAIT1: 0x04,
  /** 0x05: we closed, waiting for their FIN */
  FIN_WAIT2: 0x05,
  /** 0x06: both closed, lingering; no owner any more (uid 0, inode 0) */
  TIME_WAIT: 0x06,
  /** 0x07: closed */
  CLOSE: 0x07,
  /** 0x08: they closed, we have not yet */
  CLOSE_WAIT: 0x08,
  /** 0x09: they closed, then we did; waiting for the last ACK */
  LAST_ACK: 0x09,
  /** 0x0A: a listening socket */
  LISTEN: 0x0a,
  /** 0x0B: both sides closed at once */
  CLOSING: 0x0b,
  /** 0x0C: a request socket (SYN cookie stage) */
  NEW_SYN_RECV: 0x0c,
} as const;
export type TcpStateName = keyof typeof TcpState;

export interface ProcTcpRow {
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** Named state, or `0x..` for a code this table does not know. */
  readonly state: TcpStateName | `0x${string}`;
  readonly uid: number;
  readonly inode: number;
}

export interface ProcTcpOptions {
  /** Byte order of the machine that wrote the text; default LE (x86, arm64). */
  readonly endianness?: 'LE' | 'BE';
}

const rowPattern =
  /^\s*\d+:\s+([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})\s+([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})\s+([0-9A-Fa-f]{2})\s+\S+\s+\S+\s+\S+\s+(\d+)\s+\d+\s+(\d+)/;

const stateNames = new Map<number, TcpStateName>(
  (Object.entries(TcpState) as [TcpStateName, number][]).map(([name, code]) => [code, name]),
);

/** Parse the text of /proc/net/tcp or /proc/net/tcp6 (either may be given; both may be concatenated). */
export function parseProcNetTcp(text: string, options: ProcTcpOptions = {}): ProcTcpRow[] {
  const le = (options.endianness ?? 'LE') === 'LE';
  const rows: ProcTcpRow[] = [];
  for (const line of text.split('\n')) {
    const m = rowPattern.exec(line);
    if (!m) continue; // header lines and anything unexpected
    const [, la, lp, ra, rp, st, uid, inode] = m as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const code = Number.parseInt(st, 16);
    rows.push({
      local: { address: hexAddress(la, le), port: Number.parseInt(lp, 16) },
      remote: { address: hexAddress(ra, le), port: Number.parseInt(rp, 16) },
      state: stateNames.get(code) ?? `0x${st.toLowerCase()}`,
      uid: Number(uid),
      inode: Number(inode),
    });
  }
  return rows;
}

function hexAddress(hex: string, littleEndian: boolean): string {
  const bytes = new Uint8Array(hex.length / 2);
  for (let w = 0; w < hex.length / 8; w++) {
    for (let b = 0; b < 4; b++) {
      const src = w * 8 + (littleEndian ? (3 - b) * 2 : b * 2);
      bytes[w * 4 + b] = Number.parseInt(hex.slice(src, src + 2), 16);
    }
  }
  return bytes.length === 4 ? formatIPv4(bytes) : formatIPv6(bytes);
}

/** `::ffff:a.b.c.d` and `a.b.c.d` are the same peer (dual-stack sockets show the mapped form). */
function sameAddress(a: string, b: string): boolean {
  const unmap = (s: string) =>
    s.toLowerCase().startsWith('::ffff:') && s.includes('.') ? s.slice(7) : s.toLowerCase();
  return unmap(a) === unmap(b);
}

/** States in which a connection still belongs to a process (not LISTEN, not TIME_WAIT/CLOSE). */
const owned: ReadonlySet<string> = new Set<TcpStateName>([
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'CLOSE_WAIT',
  'LAST_ACK',
  'CLOSING',
]);

/** The row of the connection localPort ↔ remote, if a process still owns one. */
export function findConnection(
  rows: readonly ProcTcpRow[],
  localPort: number,
  remote: Endpoint,
  localAddress?: string,
): ProcTcpRow | null {
  const matches = rows.filter(
    (r) =>
      owned.has(r.state) &&
      r.inode !== 0 &&
      r.local.port === localPort &&
      r.remote.port === remote.port &&
      sameAddress(r.remote.address, remote.address) &&
      (localAddress === undefined || sameAddress(r.local.address, localAddress)),
  );
  return matches.find((r) => r.state === 'ESTABLISHED') ?? matches[0] ?? null;
}

/** The uid owning the connection localPort ↔ remote (the identd answer), or null. */
export function ownerOf(
  rows: readonly ProcTcpRow[],
  localPort: number,
  remote: Endpoint,
  localAddress?: string,
): number | null {
  return findConnection(rows, localPort, remote, localAddress)?.uid ?? null;
}
