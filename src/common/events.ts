/**
 * Structured events emitted by every server, identd and echo service (JSON lines on a file or
 * stream; in-process, an EventEmitter). The lab stitches per-request traces from these by
 * matching one hop's `outbound.local` to the next hop's `request.client`.
 *
 * Addresses are always in the emitting process's own terms: on the local runtime that is the
 * topology's addresses (the Net port translates), so traces read the same on every runtime.
 */

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface RuleCite {
  readonly file: string;
  readonly line: number;
}

export type ServiceKind = 'rsockd' | 'sockd' | 'identd' | 'echo' | 'probe';

/**
 * One connect attempt to an upstream SOCKS server (or one socks.conf entry whose name did not
 * resolve): what the fail-over loop (client/failover.ts) reports, and the `upstream-attempt`
 * event's body.
 */
export interface ServerAttempt {
  readonly server: string;
  readonly address: string | null;
  readonly port: number;
  readonly ok: boolean;
  /** The errno code of a failed connect (the error's message when it has none), or `host not found`. */
  readonly error?: string;
}

interface EventBase {
  /** ms since epoch */
  readonly t: number;
  /** Topology host name when known (the lab sets it); otherwise the listen address. */
  readonly host?: string;
  readonly service: ServiceKind;
  readonly pid?: number;
  /** Per-connection id, unique within the emitting server. */
  readonly session?: string;
}

export type LabEvent =
  | (EventBase & {
      readonly type: 'request';
      readonly client: Endpoint;
      readonly local: Endpoint;
      readonly version: 4 | 5;
      readonly command: 'connect' | 'bind' | 'udp';
      /** Destination as requested: dotted IPv4/IPv6 or the 4A/SOCKS5 name. */
      readonly dst: { readonly host: string; readonly port: number; readonly name?: string };
      /** USERID (SOCKS4) or RFC 1929 username; '' when none. */
      readonly user: string;
    })
  | (EventBase & {
      readonly type: 'identd';
      /** Where the query went (client address, identd port). */
      readonly queried: Endpoint;
      /** Raw answer line, or null when none came. */
      readonly answer: string | null;
      readonly verdict: 'confirmed' | 'mismatch' | 'unavailable';
      /** The user-id identd reported, when it reported one. */
      readonly user?: string;
      readonly reason?: string;
    })
  | (EventBase & {
      readonly type: 'decision';
      readonly action: 'permit' | 'deny';
      readonly rule: RuleCite | null;
      readonly reason:
        | 'rule'
        | 'no-match'
        | 'identd-unavailable'
        | 'identd-mismatch'
        | 'config-unusable'
        | 'auth-failed';
      /** The user the deciding rule saw (claimed) and the user identd attributed ('unknown' if none). */
      readonly user: string;
      readonly realUser: string;
    })
  | (EventBase & {
      readonly type: 'command';
      readonly origin: 'rule' | 'NO_IDENTD' | 'BAD_ID' | 'route';
      readonly rule: RuleCite | null;
      readonly command: string;
      readonly status: 'ran' | 'too-long' | 'no-alnum' | 'spawn-failed' | 'timeout';
      readonly exitCode?: number | null;
    })
  | (EventBase & {
      readonly type: 'route';
      readonly action: 'deny' | 'direct' | 'sockd';
      readonly rule: RuleCite | null;
      /** Ordered server list after default substitution (sockd only). */
      readonly servers: readonly string[];
      readonly shortcut?: 'loopback' | 'no-file';
    })
  | (EventBase & {
      /** sockd.route (e) chose the local interface for a BIND's listening socket (or, with --route-connect, a CONNECT's outbound one). */
      readonly type: 'interface';
      readonly purpose: 'bind' | 'connect';
      /** The chosen interface address; null when no line matched (the BIND is refused). */
      readonly iface: string | null;
      readonly rule: RuleCite | null;
      /** The chosen line as written. */
      readonly text?: string;
    })
  | (EventBase & {
      /** A destination name (SOCKS 4A / SOCKS 5) looked up with this server's name service. */
      readonly type: 'resolve';
      readonly name: string;
      /** Its addresses, resolver order; [] = the name does not resolve here. */
      readonly addresses: readonly string[];
    })
  | (EventBase & { readonly type: 'upstream-attempt' } & ServerAttempt)
  | (EventBase & {
      readonly type: 'outbound';
      readonly local: Endpoint;
      readonly remote: Endpoint;
      readonly via: 'direct' | 'upstream' | 'bind';
    })
  | (EventBase & {
      readonly type: 'reply';
      readonly version: 4 | 5;
      readonly code: number;
      /** 'first' / 'second' for BIND; 'only' otherwise. */
      readonly phase: 'only' | 'first' | 'second';
      readonly bound?: Endpoint;
    })
  | (EventBase & {
      readonly type: 'close';
      readonly bytesFromClient: number;
      readonly bytesFromRemote: number;
      readonly durationMs: number;
      readonly reason: string;
      /**
       * The connection's ends, when the session ended before a request was read (no `request`
       * event names them): a trace still finds the hop that closed without replying.
       */
      readonly client?: Endpoint;
      readonly local?: Endpoint;
    })
  | (EventBase & {
      readonly type: 'log';
      readonly level: 'notice' | 'err' | 'warning' | 'info';
      /** The classic message text of spec h.6, byte for byte. */
      readonly message: string;
    })
  | (EventBase & {
      readonly type: 'identd-served';
      readonly peer: Endpoint;
      readonly query: string;
      readonly answer: string | null;
      readonly behaviour: string;
    })
  | (EventBase & {
      readonly type: 'echo';
      readonly peer: Endpoint;
      readonly local: Endpoint;
      readonly kind: string;
      readonly bytes: number;
    });

export type LabEventType = LabEvent['type'];

/** Anything that accepts events: an EventEmitter wrapper, a JSON-lines writer, a collector. */
export interface EventSink {
  emit(event: LabEvent): void;
  /**
   * The event types this sink reads; absent = every type. Emitters may skip building the others
   * (a metrics sink reads a few types per session, and a log event per log line is most of the
   * cost of events).
   */
  readonly types?: ReadonlySet<LabEvent['type']>;
}

/** Whether `sink` reads events of `type` (false without a sink). */
export function sinkWants(sink: EventSink | undefined, type: LabEvent['type']): boolean {
  return sink !== undefined && (sink.types === undefined || sink.types.has(type));
}
