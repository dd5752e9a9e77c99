import type { Endpoint } from './events.ts';

/**
 * A probe's request and outcome: the vocabulary the probe client (src/client/probe.ts) speaks
 * and the Runtime interface (src/runtime/runtime.ts) passes on, defined once here so the
 * interface need not import the client that implements it.
 */

export type ProbeProtocol = 'socks4' | 'socks4a' | 'socks5';

export interface HostProbeRequest {
  readonly user: string;
  /** USERID sent (SOCKS 4/4A) when it differs from the process owner `user` (a forged claim); absent = user. */
  readonly claim?: string;
  /** Explicit first hop (`host`, `host:port`, an address, `[v6]:port`, topology terms); absent = the origin's socks.conf. */
  readonly via?: string;
  readonly useSocksConf?: boolean;
  readonly protocol: ProbeProtocol;
  /** SOCKS5 username/password; `user` is the USERID for SOCKS4. */
  readonly credentials?: { readonly username: string; readonly password: string };
  readonly command: 'connect' | 'bind';
  /** Destination: host name of the topology, address, or DNS-style name; and port. */
  readonly target: { readonly host: string; readonly port: number };
  readonly send?: string;
  /** BIND: somebody connects back to the bound address (see HostProbeContext.bindPeer in client/probe.ts). */
  readonly bindPeer?: unknown;
  readonly timeoutMs?: number;
}

export interface HostProbeOutcome {
  /** Reply code of the first hop (SOCKS4 CD or SOCKS5 REP), null if none came. */
  readonly reply: number | null;
  readonly secondReply?: number | null;
  readonly protocol: ProbeProtocol;
  /** Route the probe's own socks.conf chose, when used. */
  readonly clientRoute?: { readonly action: 'deny' | 'direct' | 'sockd'; readonly line: number | null };
  readonly local?: Endpoint;
  readonly bound?: Endpoint;
  readonly received: string;
  readonly error?: string;
  readonly durationMs: number;
}
