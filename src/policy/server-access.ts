import { SockslabError } from '../common/errors.ts';
import type { RuleCite } from '../common/events.ts';
import type { IdentdMode, ServerConfig } from '../config/ast.ts';
import type { UserFileReader } from '../config/user-file.ts';
import { Socks4Reply, type Socks4ReplyCode } from '../protocol/socks4.ts';
import type { CommandContext } from './command.ts';
import { type HostIdentity, hostMatches } from './host.ts';
import { portMatches, usersMatch } from './match.ts';
import { describeRequest, type RequestCommand, type ServiceNameOf, serviceLabel } from './request-desc.ts';

/** Where a command to run came from (c.10 table). */
export type CommandOrigin = 'rule' | 'NO_IDENTD' | 'BAD_ID';

/** An unexpanded command template and the line that holds it. */
export interface CommandTemplate {
  readonly origin: CommandOrigin;
  readonly template: string;
  readonly rule: RuleCite;
}

export interface ServerAccessRequest {
  readonly src: HostIdentity;
  readonly dst: HostIdentity;
  /** USERID as sent (SOCKS 5: the RFC 1929 username or ''). */
  readonly user: string;
  readonly port: number;
  readonly command: RequestCommand;
}

export interface ServerAccessOptions {
  /** c.9 global mode from `-i` / `-I` (off when neither). */
  readonly identdDefault: IdentdMode;
  readonly userFiles: UserFileReader;
  /** DSTSERV lookup (`/etc/services`); without it the port number is shown. */
  readonly serviceNameOf?: ServiceNameOf;
}

/** Step one of Appendix A: which line decides, before identd is asked. */
export interface AccessDecision {
  /** The matching line; null for the implicit deny (c.12). */
  readonly rule: RuleCite | null;
  /** The matching line as written (for `Line N: …`). */
  readonly source: string | null;
  readonly action: 'permit' | 'deny';
  /** Effective identd mode (c.9) for a permit; always 'off' for a deny. */
  readonly identd: IdentdMode;
  /** The matched line's own command, if any. */
  readonly command: CommandTemplate | null;
  /** c.11 special commands of the file (first of each kind), carried for applyIdentd. */
  readonly noIdentd: CommandTemplate | null;
  readonly badId: CommandTemplate | null;
  /** `Unable to open userfile (PATH): TEXT` messages met while matching, in order. */
  readonly userFileErrors: readonly string[];
  readonly request: ServerAccessRequest;
  /** DSTSERV for REQDESC and `%S`. */
  readonly dstServ: string;
}

/** The c.11 special commands of a config, built once per (immutable) config, not per request. */
const specials = new WeakMap<
  ServerConfig,
  { noIdentd: CommandTemplate | null; badId: CommandTemplate | null }
>();
function specialCommandsOf(config: ServerConfig): {
  noIdentd: CommandTemplate | null;
  badId: CommandTemplate | null;
} {
  let found = specials.get(config);
  if (found === undefined) {
    const special = (origin: CommandOrigin, s: ServerConfig['noIdentd']): CommandTemplate | null =>
      s ? { origin, template: s.command, rule: { file: config.file, line: s.line } } : null;
    found = { noIdentd: special('NO_IDENTD', config.noIdentd), badId: special('BAD_ID', config.badId) };
    specials.set(config, found);
  }
  return found;
}

export function decideServerAccess(
  config: ServerConfig,
  request: ServerAccessRequest,
  options: ServerAccessOptions,
): AccessDecision {
  const userFileErrors: string[] = [];
  const { noIdentd, badId } = specialCommandsOf(config);
  const dstServ = serviceLabel(request.port, options.serviceNameOf);
  for (const rule of config.rules) {
    if (!hostMatches(request.src, rule.src)) continue;
    if (!hostMatches(request.dst, rule.dst)) continue;
    const users = usersMatch(rule.users, request.user, options.userFiles);
    if (users.errors.length > 0) userFileErrors.push(...users.errors);
    if (!users.matched) continue;
    if (!portMatches(rule.port, request.port)) continue;
    const cite = ruleCiteOf(rule);
    // Object literals with every field spelled out (no spread): one allocation, one shape.
    return {
      rule: cite,
      source: rule.source,
      action: rule.action,
      identd: rule.action === 'deny' ? 'off' : (rule.identd?.mode ?? options.identdDefault),
      command: rule.command !== undefined ? { origin: 'rule', template: rule.command, rule: cite } : null,
      noIdentd,
      badId,
      userFileErrors,
      request,
      dstServ,
    };
  }
  return {
    rule: null,
    source: null,
    action: 'deny',
    identd: 'off',
    command: null,
    noIdentd,
    badId,
    userFileErrors,
    request,
    dstServ,
  };
}

/** A rule's `{file, line}`, one object per rule rather than one per request. */
const cites = new WeakMap<object, RuleCite>();
function ruleCiteOf(rule: { readonly file: string; readonly line: number }): RuleCite {
  let cite = cites.get(rule);
  if (cite === undefined) {
    cite = { file: rule.file, line: rule.line };
    cites.set(rule, cite);
  }
  return cite;
}

const NoCommands: readonly CommandTemplate[] = Object.freeze([]);
const NoLogs: readonly LogLine[] = Object.freeze([]);
const NoSteps: readonly AccessStep[] = Object.freeze([]);

/** The request's REQDESC (h.6) as this decision saw it, with the real user identd gave. */
function decisionDesc(decision: AccessDecision, claimedUser: string, realUser: string): string {
  return describeRequest({
    command: decision.request.command,
    user: claimedUser,
    realUser,
    src: decision.request.src,
    dst: decision.request.dst,
    dstServ: decision.dstServ,
  });
}

/** The `run` and `log` steps apart (shared empty lists for the common no-step outcome). */
function splitSteps(steps: readonly AccessStep[]): {
  commands: readonly CommandTemplate[];
  logs: readonly LogLine[];
} {
  if (steps.length === 0) return { commands: NoCommands, logs: NoLogs };
  const commands: CommandTemplate[] = [];
  const logs: LogLine[] = [];
  for (const s of steps) {
    if (s.kind === 'run') commands.push(s.command);
    else logs.push({ level: s.level, text: s.text });
  }
  return { commands, logs };
}

/** What the identd query (g.2–g.4) gave; 'not-asked' when the decision's mode is off. */
export type IdentdResult =
  | { readonly kind: 'not-asked' }
  | { readonly kind: 'unavailable'; readonly reason: string }
  | { readonly kind: 'user'; readonly user: string };

export type LogLevel = 'notice' | 'err';
export interface LogLine {
  readonly level: LogLevel;
  readonly text: string;
}

/** One thing to do, in order: run a command (c.10) or write a classic log line (h.6). */
export type AccessStep =
  | { readonly kind: 'run'; readonly command: CommandTemplate }
  | ({ readonly kind: 'log' } & LogLine);

export interface AccessOutcome {
  /**
   * Granted (90) = continue with the request (routing, dial; the real 90 comes only after them);
   * 91/92/93 = send this refusal and close.
   */
  readonly reply: Socks4ReplyCode;
  readonly granted: boolean;
  /** REALUSER / `%U`: identd's answer, `unknown` when it gave none. */
  readonly realUser: string;
  readonly identdVerdict: 'not-asked' | 'confirmed' | 'mismatch' | 'unavailable';
  /** REQDESC (h.5), built after identd so REALUSER is final. */
  readonly reqdesc: string;
  /** Everything to do, in the order of Appendix A and h.6 (user-file errors first). */
  readonly steps: readonly AccessStep[];
  /** The `run` steps alone, in order. */
  readonly commands: readonly CommandTemplate[];
  /** The `log` steps alone, in order. */
  readonly logs: readonly LogLine[];
}

/**
 * Step two of Appendix A: combine the decision with identd's answer (g.5, c.10 table, h.6 order).
 * `claimedUser` is the request's USERID (the decision's own, unless a caller re-checks another).
 * Kept as one function over 80 lines: below the fast path it is the c.10 table itself, one case
 * after another, each running its commands and logging its lines in the order h.6 gives them.
 */
export function applyIdentd(
  decision: AccessDecision,
  identd: IdentdResult,
  claimedUser: string = decision.request.user,
): AccessOutcome {
  // A permit without identd and without user-file errors, the usual request: one object, no steps
  // to collect (the general path below gives the same outcome).
  if (decision.action === 'permit' && decision.identd === 'off' && decision.userFileErrors.length === 0) {
    const command = decision.command;
    return {
      reply: Socks4Reply.Granted,
      granted: true,
      realUser: 'unknown',
      identdVerdict: 'not-asked',
      reqdesc: decisionDesc(decision, claimedUser, 'unknown'),
      steps: command ? [{ kind: 'run', command }] : NoSteps,
      commands: command ? [command] : NoCommands,
      logs: NoLogs,
    };
  }
  const steps: AccessStep[] = decision.userFileErrors.map((text) => ({ kind: 'log', level: 'err', text }));
  const run = (c: CommandTemplate | null) => {
    if (c) steps.push({ kind: 'run', command: c });
  };
  const log = (text: string) => steps.push({ kind: 'log', level: 'notice', text });
  const reqdesc = (realUser: string) => decisionDesc(decision, claimedUser, realUser);
  const srcHost = decision.request.src.display;
  const finish = (
    reply: Socks4ReplyCode,
    realUser: string,
    identdVerdict: AccessOutcome['identdVerdict'],
    desc: string,
  ): AccessOutcome => {
    const { commands, logs } = splitSteps(steps);
    return {
      reply,
      granted: reply === Socks4Reply.Granted,
      realUser,
      identdVerdict,
      reqdesc: desc,
      steps,
      commands,
      logs,
    };
  };

  if (decision.action === 'deny') {
    const desc = reqdesc('unknown');
    run(decision.command);
    log(`refused -- ${desc}`);
    return finish(Socks4Reply.Rejected, 'unknown', 'not-asked', desc);
  }
  if (decision.identd === 'off') {
    run(decision.command);
    return finish(Socks4Reply.Granted, 'unknown', 'not-asked', reqdesc('unknown'));
  }
  if (identd.kind === 'not-asked') {
    throw new SockslabError(
      'E_POLICY_IDENTD_REQUIRED',
      `line ${decision.rule?.line} requires identd (${decision.identd}) but no identd result was given`,
    );
  }
  if (identd.kind === 'unavailable') {
    const desc = reqdesc('unknown');
    run(decision.noIdentd);
    if (decision.identd === 'strict') {
      log(`refused -- ${desc}`);
      log(`cannot connect to identd on ${srcHost}`);
      return finish(Socks4Reply.NoIdentd, 'unknown', 'unavailable', desc);
    }
    log(`cannot connect to identd on ${srcHost}`);
    run(decision.command);
    return finish(Socks4Reply.Granted, 'unknown', 'unavailable', desc);
  }
  const realUser = identd.user;
  const desc = reqdesc(realUser);
  if (realUser !== claimedUser) {
    run(decision.badId);
    log(`refused -- ${desc}`);
    log(`*Alert*: real user is ${realUser}, not ${claimedUser}`);
    return finish(Socks4Reply.BadId, realUser, 'mismatch', desc);
  }
  run(decision.command);
  return finish(Socks4Reply.Granted, realUser, 'confirmed', desc);
}

/** c.10 expansion context for the commands of a server decision (`%U` = the outcome's real user). */
export function serverCommandContext(
  decision: AccessDecision,
  realUser: string,
  pid: number,
  claimedUser: string = decision.request.user,
): CommandContext {
  const r = decision.request;
  return {
    srcHost: r.src.display,
    srcAddr: r.src.dotted,
    command: r.command,
    pid,
    dstServ: decision.dstServ,
    dstPort: r.port,
    realUser,
    user: claimedUser,
    dstHost: r.dst.display,
    dstAddr: r.dst.dotted,
  };
}
