import type { HostIdentity } from './host.ts';

export type RequestCommand = 'connect' | 'bind' | 'udp';

/** Maps a TCP port to its service name (`/etc/services`), undefined when it has none. */
export type ServiceNameOf = (port: number) => string | undefined;

/** c.7 DSTSERV / `%S`: the TCP service name of the port, else the decimal number. */
export function serviceLabel(port: number, serviceNameOf?: ServiceNameOf): string {
  return serviceNameOf?.(port) ?? String(port);
}

export interface RequestDescParts {
  readonly command: RequestCommand;
  /** SRCUSER: the claimed user-id (may be empty). */
  readonly user: string;
  /** REALUSER: identd's answer, or `unknown`. */
  readonly realUser: string;
  readonly src: HostIdentity;
  readonly dst: HostIdentity;
  /** DSTSERV */
  readonly dstServ: string;
}

/**
 * h.5 REQDESC: `Connect from SRCUSER(REALUSER)@SRCHOST to DSTHOST (DSTSERV)`, the BIND form
 * `Bind from … for …` (with `(DSTSERV)`, j.41) and, for SOCKS 5 UDP, `UDP associate from … to …`.
 */
export function describeRequest(parts: RequestDescParts): string {
  const verb = parts.command === 'connect' ? 'Connect' : parts.command === 'bind' ? 'Bind' : 'UDP associate';
  const prep = parts.command === 'bind' ? 'for' : 'to';
  return `${verb} from ${parts.user}(${parts.realUser})@${parts.src.display} ${prep} ${parts.dst.display} (${parts.dstServ})`;
}

/**
 * The rsockd routing forms of h.6: `connect() from SRCUSER(REALUSER) to DSTHOST (DSTSERV)` and
 * `bind() from … for …`.
 */
export function describeRoutedCall(parts: Omit<RequestDescParts, 'src'>): string {
  const call = parts.command === 'bind' ? 'bind()' : 'connect()';
  const prep = parts.command === 'bind' ? 'for' : 'to';
  return `${call} from ${parts.user}(${parts.realUser}) ${prep} ${parts.dst.display} (${parts.dstServ})`;
}

/**
 * d.4 / h.6 routing deny: `refused -- connect() from U(R) to D (S)` (BIND: `Refused -- bind() from
 * U(R) for D (S)`, capitalised as in the original), then
 * `failed -- REQDESC.  Error code: connect() Connection refused` (BIND: `bind()`). `routed` is
 * describeRoutedCall's text and `reqdesc` the request's REQDESC, both already made for the request.
 */
export function routeDenyLogs(command: RequestCommand, routed: string, reqdesc: string): [string, string] {
  const bind = command === 'bind';
  return [
    `${bind ? 'Refused' : 'refused'} -- ${routed}`,
    `failed -- ${reqdesc}.  Error code: ${bind ? 'bind()' : 'connect()'} Connection refused`,
  ];
}

/** h.6 rsockd direct: `connect() directly from U(R) to D (S)` / `bind() directly from U(R) for D (S)`. */
export function routeDirectLog(command: RequestCommand, routed: string): string {
  return `${command === 'bind' ? 'bind()' : 'connect()'} directly ${routed.slice(routed.indexOf('from'))}`;
}

/** h.6 rsockd via server: `connect() from U(R) to D (S) using sockd at SERVER` (d.7). */
export function routeViaLog(routed: string, server: string): string {
  return `${routed} using sockd at ${server}`;
}

/** d.7 / d.6: `Failed to connect to sockd at E: TEXT`; no server at all → `… at (none)`. */
export function upstreamFailedLog(server: string | null, text?: string): string {
  if (server === null) return 'Failed to connect to sockd at (none)';
  return `Failed to connect to sockd at ${server}: ${text ?? 'Connection refused'}`;
}
