import type { Endpoint } from '../common/events.ts';

/**
 * One request's path through the lab, stitched from the events of every hop. Reports,
 * expectations and diagrams read traces, never raw events.
 * (Owned by the scenario module; extend freely, rename only with every user.)
 */
/** A hop's server decision, citing the deciding line (null: no line matched, or no usable file). */
export interface HopDecision {
  readonly action: 'permit' | 'deny';
  readonly file: string | null;
  readonly line: number | null;
  readonly reason: string;
}

/**
 * The destination as one hop received it (split DNS): a name (SOCKS 4A/5) or an address, the
 * address it stands for there, and which host resolved the name.
 */
export interface HopDestination {
  readonly received: 'name' | 'address';
  /** The name received, or the name the received address was resolved from further back. */
  readonly name?: string;
  /** The address this hop received or resolved the name to; null: the name is unresolvable here. */
  readonly address: string | null;
  /**
   * The host that resolved the name: this hop, a later one it passed the name on to, an earlier
   * one (or the origin, for SOCKS 4) that sent the address; null when no host resolved it (or the
   * request named an address).
   */
  readonly resolvedBy: string | null;
}

export interface TraceHop {
  readonly host: string;
  readonly service: 'rsockd' | 'sockd';
  readonly session: string;
  readonly client: Endpoint;
  /** Host name of the client side of this hop (the origin host, or the previous hop). */
  readonly from: string;
  /** The user the request claimed at this hop (USERID / RFC 1929 name). */
  readonly user: string;
  /** The user this hop attributed the request to (identd's answer; `unknown` when none). */
  readonly realUser?: string;
  /** What this hop received as destination and where the name was resolved. */
  readonly destination?: HopDestination;
  readonly decision: HopDecision;
  readonly identd?: {
    /** Host whose identd was asked. */
    readonly queried: string;
    readonly answer: string | null;
    readonly user: string | null;
    readonly verdict: 'confirmed' | 'mismatch' | 'unavailable';
    /** The fake identd's behaviour when its `identd-served` event was found. */
    readonly behaviour?: string;
  };
  readonly route?: {
    readonly action: 'deny' | 'direct' | 'sockd';
    readonly file: string | null;
    readonly line: number | null;
    readonly servers: readonly string[];
    readonly attempts: readonly {
      readonly server: string;
      readonly ok: boolean;
      readonly error?: string;
      /** Topology host of the address tried, when known. */
      readonly host?: string;
      /** The address and port tried (absent when the name did not resolve). */
      readonly address?: string;
      readonly port?: number;
    }[];
  };
  readonly outbound?: { readonly local: Endpoint; readonly remote: Endpoint; readonly to: string };
  /** sockd.route's choice of the BIND's listening interface (multi-homed hop); null line = none matched. */
  readonly iface?: {
    readonly address: string | null;
    readonly file: string | null;
    readonly line: number | null;
    /** The chosen sockd.route line as written. */
    readonly text?: string;
  };
  readonly reply: number | null;
  /** BIND: the address (and port) this hop's first reply bound. */
  readonly bound?: Endpoint;
  /** BIND: this hop's second reply to its client; null when it sent none. */
  readonly secondReply?: number | null;
  /** Protocol of that reply: 5 when this hop spoke SOCKS 5 to its client, else 4. */
  readonly replyVersion?: 4 | 5;
  readonly commands: readonly string[];
  readonly logs: readonly string[];
}

export interface Trace {
  /** `user` owns the origin's socket (whom identd names); `claim` is the USERID it sent instead, if forged. */
  readonly origin: {
    readonly host: string;
    readonly user: string;
    readonly claim?: string;
    /** How the claim was sent: the SOCKS 4 USERID (default) or RFC 1929 credentials (SOCKS 5). */
    readonly claimVia?: 'rfc1929';
  };
  readonly target: { readonly host: string; readonly port: number };
  readonly protocol: string;
  readonly command: 'connect' | 'bind';
  readonly hops: readonly TraceHop[];
  /** Host names in order: origin, each hop, and the destination when reached. */
  readonly path: readonly string[];
  readonly destination?: { readonly host: string; readonly reached: boolean; readonly peer?: Endpoint };
  /** Reply the origin got from its first hop. */
  readonly reply: number | null;
  /** BIND: the second reply the origin got. */
  readonly secondReply?: number | null;
  /** What the origin's own socks.conf decided, when it was used. */
  readonly clientRoute?: { readonly action: 'deny' | 'direct' | 'sockd'; readonly line: number | null };
}
