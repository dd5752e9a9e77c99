import type { RuleCite } from '../common/events.ts';
import { dottedOf } from '../common/inet-address.ts';
import type { RouteConfig } from '../config/ast.ts';
import { type HostIdentity, hostMatches } from './host.ts';

export interface InterfaceChoice {
  /** Local interface address, dotted. */
  readonly iface: string;
  readonly rule: RuleCite;
  /** The chosen line as written (for traces and reports). */
  readonly text: string;
}

/**
 * (e): the first sockd.route line whose destination matches the BIND destination gives the
 * listening interface. null = no line matches: reply 91 and log
 * `***Cannot find appropriate interface to communicate with DSTIP`.
 */
export function chooseInterface(route: RouteConfig, dst: HostIdentity): InterfaceChoice | null {
  for (const r of route.routes) {
    if (hostMatches(dst, r.dst))
      return { iface: dottedOf(r.iface >>> 0), rule: { file: r.file, line: r.line }, text: r.source };
  }
  return null;
}

export function noInterfaceMessage(dst: HostIdentity): string {
  return `***Cannot find appropriate interface to communicate with ${dst.dotted}`;
}
