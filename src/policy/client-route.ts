import type { RuleCite } from '../common/events.ts';
import { dottedOf as dotted } from '../common/inet-address.ts';
import type { Resolver } from '../common/resolver.ts';
import type { ClientConfig } from '../config/ast.ts';
import { inetAton } from '../config/inet.ts';
import type { UserFileReader } from '../config/user-file.ts';
import { type HostIdentity, hostMatches } from './host.ts';
import { portMatches, usersMatch } from './match.ts';
import { upstreamFailedLog } from './request-desc.ts';
import type { CommandTemplate } from './server-access.ts';

export interface RouteRequest {
  readonly dst: HostIdentity;
  /** The user-id the end user claimed (d.2). */
  readonly user: string;
  readonly port: number;
}

export interface RouteOptions {
  readonly userFiles: UserFileReader;
  /** d.6: SOCKS_SERVER / --default-server, already chosen by the caller. */
  readonly defaultServer?: string;
}

/** Results of d.4; `sockd` carries the server entries to try in order (d.7). */
export interface RouteDecision {
  readonly action: 'deny' | 'direct' | 'sockd';
  /** The deciding line; null for a shortcut and for "no rule matches" (deny). */
  readonly rule: RuleCite | null;
  readonly source: string | null;
  /** Why no line was consulted: loopback/unspecified destination (d.3.1) or no file at all (d.1). */
  readonly shortcut: 'loopback' | 'no-file' | null;
  /**
   * For `sockd`: the entries in order, the default server substituted for an absent or empty list
   * (d.6). Empty when the default is needed but none is configured: the caller then logs
   * `Failed to connect to sockd at (none)` and replies 91.
   */
  readonly servers: readonly string[];
  /** true when `servers` is the default server (d.6). */
  readonly usedDefault: boolean;
  /** The matched line's command (c.10 expansion with the requesting client's values, j.30). */
  readonly command: CommandTemplate | null;
  readonly userFileErrors: readonly string[];
}

const LoopbackShortcut = new Set([0x7f000001, 0]); // 127.0.0.1 and 0.0.0.0 exactly (d.3.1)

/** d.3: routing of an already-permitted request by socks.conf; null config = no file = direct. */
export function decideClientRoute(
  config: ClientConfig | null,
  request: RouteRequest,
  options: RouteOptions,
): RouteDecision {
  const none = { rule: null, source: null, servers: [], usedDefault: false, command: null };
  const first = request.dst.addresses[0];
  if (first !== undefined && LoopbackShortcut.has(first)) {
    return { ...none, action: 'direct', shortcut: 'loopback', userFileErrors: [] };
  }
  if (config === null) return { ...none, action: 'direct', shortcut: 'no-file', userFileErrors: [] };
  const userFileErrors: string[] = [];
  for (const rule of config.rules) {
    if (!hostMatches(request.dst, rule.dst)) continue;
    const users = usersMatch(rule.users, request.user, options.userFiles);
    userFileErrors.push(...users.errors);
    if (!users.matched) continue;
    if (!portMatches(rule.port, request.port)) continue;
    const cite = { file: rule.file, line: rule.line };
    const listed = rule.action === 'sockd' ? (rule.servers?.entries ?? []) : [];
    const usedDefault = rule.action === 'sockd' && listed.length === 0;
    const servers = usedDefault ? (options.defaultServer ? [options.defaultServer] : []) : listed;
    return {
      action: rule.action,
      rule: cite,
      source: rule.source,
      shortcut: null,
      servers,
      usedDefault,
      command: rule.command !== undefined ? { origin: 'rule', template: rule.command, rule: cite } : null,
      userFileErrors,
    };
  }
  return { ...none, action: 'deny', shortcut: null, userFileErrors };
}

/** The ordered server entries of a `sockd` decision for the d.7 loop ([] otherwise). */
export function serverCandidates(decision: RouteDecision): readonly string[] {
  return decision.action === 'sockd' ? decision.servers : [];
}

/** One step of the d.7 loop: the addresses to try for an entry, or the entry did not resolve. */
export type ServerAttemptPlan =
  | { readonly entry: string; readonly kind: 'addresses'; readonly addresses: readonly string[] }
  | { readonly entry: string; readonly kind: 'not-found'; readonly log: string };

/**
 * Pure planner for the d.7 fail-over loop: yields, entry by entry, the addresses to dial (a
 * numeric entry is its own address; a name is looked up when reached, so later entries are not
 * resolved once an earlier one connected). An unresolvable name is skipped with its log line
 * (j.12). The caller dials and stops iterating on the first connection.
 */
export async function* planServerAttempts(
  entries: readonly string[],
  resolver: Resolver,
): AsyncGenerator<ServerAttemptPlan, void, undefined> {
  for (const entry of entries) {
    const numeric = inetAton(entry);
    if (numeric !== undefined) {
      yield { entry, kind: 'addresses', addresses: [dotted(numeric)] };
      continue;
    }
    let addresses: readonly string[] = [];
    try {
      addresses = await resolver.forward(entry);
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) {
      yield { entry, kind: 'not-found', log: upstreamFailedLog(entry, 'host not found') };
    } else {
      yield { entry, kind: 'addresses', addresses };
    }
  }
}
