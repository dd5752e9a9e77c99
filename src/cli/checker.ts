/**
 * The two checker tools (f.5 test_sockd_conf, f.6 test_socks_conf) apart from their argv and
 * files: usage texts, exit statuses, the exact lines the tools print (to stderr) and a JSON-able
 * record, for one simulated request evaluated by the same policy engine the server uses (identd
 * simulation: policy/identd-simulation.ts). No I/O: test-sockd-conf.ts / test-socks-conf.ts read
 * the files, build the resolver and print.
 */

import type { RuleCite } from '../common/events.ts';
import { dottedOf as dotted } from '../common/inet-address.ts';
import type { Resolver } from '../common/resolver.ts';
import type { ClientConfig, IdentdMode, RouteConfig, ServerConfig } from '../config/ast.ts';
import { inetAton } from '../config/inet.ts';
import type { ServiceTable } from '../config/services.ts';
import type { UserFileReader } from '../config/user-file.ts';
import { decideClientRoute, type RouteDecision } from '../policy/client-route.ts';
import { type CommandContext, type ExpandedCommand, expandCommand } from '../policy/command.ts';
import { type HostIdentity, hostFromAddress, hostFromName } from '../policy/host.ts';
import { type IdentdSimulation, identdInput, simulatedDecision } from '../policy/identd-simulation.ts';
import { chooseInterface, noInterfaceMessage } from '../policy/interface-choice.ts';
import { serviceLabel } from '../policy/request-desc.ts';
import {
  type AccessOutcome,
  applyIdentd,
  type CommandOrigin,
  type CommandTemplate,
  decideServerAccess,
  serverCommandContext,
} from '../policy/server-access.ts';
import { Socks4Reply } from '../protocol/socks4.ts';

/** Exit statuses of f.5 and f.6. */
export const SockdCheckExit = { Denied: 0, Permitted: 1, Error: 255 } as const;
export const SocksCheckExit = { Deny: 0, Direct: 1, Sockd: 2, Error: 255 } as const;

export const SockdCheckUsage =
  'Usage: test_sockd_conf [-i] [-I] [-B] [-x] [-R route_file] [-C conf_file] [--identd=agree|unreachable|error|user:NAME] [--mode=n|i|I] [--hosts FILE] [--json] user src_addr dst_addr service|port';
export const SocksCheckUsage =
  'Usage: test_socks_conf [-x] [-C conf_file] [--default-server HOST] [--src ADDR] [--hosts FILE] [--json] user dst_addr service|port';

/**
 * A `service|port` argument as in c.7: a TCP service name first, else its leading decimal
 * digits (`80abc` → 80); undefined when neither or ≥ 65536.
 */
export function parsePortArgument(text: string, services: ServiceTable): number | undefined {
  const named = services.portOf(text);
  if (named !== undefined) return named;
  const digits = /^[0-9]+/.exec(text);
  if (!digits) return undefined;
  const port = Number(digits[0]);
  return port < 65536 ? port : undefined;
}

/** A host argument: numeric (inet_aton) → as a peer/DSTIP (c.6); otherwise a name, as in 4A (b.3). */
export async function hostFromArgument(resolver: Resolver, text: string): Promise<HostIdentity> {
  const numeric = inetAton(text);
  return numeric !== undefined ? hostFromAddress(resolver, dotted(numeric)) : hostFromName(resolver, text);
}

export interface CheckedCommand {
  readonly origin: CommandOrigin;
  readonly rule: RuleCite;
  readonly template: string;
  readonly expanded: ExpandedCommand;
}

export interface SockdCheckInput {
  readonly user: string;
  readonly src: string;
  readonly dst: string;
  readonly service: string;
  readonly simulation: IdentdSimulation;
  readonly config: ServerConfig;
  /** -R: the route file (null = it could not be opened); absent = single-homed, no route check. */
  readonly route?: { readonly file: string; readonly config: RouteConfig | null };
  readonly resolver: Resolver;
  readonly userFiles: UserFileReader;
  readonly services: ServiceTable;
  readonly pid: number;
}

export interface SockdCheckResult {
  readonly lines: readonly string[];
  readonly exitCode: 0 | 1 | 255;
  readonly permitted: boolean;
  /** Commands in run order with their expansions (what `-x` runs). */
  readonly commands: readonly CheckedCommand[];
  readonly record: SockdCheckRecord;
}

export interface SockdCheckRecord {
  readonly tool: 'test_sockd_conf';
  readonly request: {
    readonly user: string;
    readonly src: string;
    readonly dst: string;
    readonly port?: number;
  };
  readonly permitted: boolean;
  /** What the server would answer (b.2): 90 granted, else the refusal code. */
  readonly reply: number | null;
  /**
   * Why `reply` is not what the rules alone say, when it is not: a permitted request whose
   * destination name has no address is answered 91 by the server (b.3), not 90. null otherwise.
   */
  readonly replyReason: string | null;
  readonly rule: RuleCite | null;
  readonly source: string | null;
  readonly action: 'permit' | 'deny' | null;
  readonly identdMode: IdentdMode | null;
  readonly identdVerdict: AccessOutcome['identdVerdict'] | null;
  readonly realUser: string | null;
  readonly userFileErrors: readonly string[];
  readonly commands: readonly {
    readonly origin: CommandOrigin;
    readonly line: number;
    readonly text: string;
    readonly ran: boolean;
    readonly error?: string;
  }[];
  readonly route: {
    readonly file: string;
    readonly iface: string | null;
    readonly line: number | null;
  } | null;
  readonly errors: readonly string[];
  readonly exitCode: number;
}

function expandAll(templates: readonly CommandTemplate[], ctx: CommandContext): CheckedCommand[] {
  return templates.map((c) => ({
    origin: c.origin,
    rule: c.rule,
    template: c.template,
    expanded: expandCommand(c.template, ctx),
  }));
}

function commandLine(c: CheckedCommand): string {
  return c.expanded.ok ? `Command: ${c.expanded.text}` : c.expanded.log;
}

/** A command of the record: its line and expansion; `-x` has not run it (yet). */
function commandRecord(c: CheckedCommand) {
  return {
    line: c.rule.line,
    text: c.expanded.text,
    ran: false,
    ...(c.expanded.ok ? {} : { error: c.expanded.log }),
  };
}

/** The line both tools print for a `service|port` argument that names no port. */
const invalidPort = (service: string) => `Invalid port number ${service}`;

/**
 * f.5: the request's header line, the access decision (sockd.conf line, identd, commands), the
 * interface check of a multi-homed server (-R), then the verdict and what the server would reply.
 */
export async function checkSockdConf(input: SockdCheckInput): Promise<SockdCheckResult> {
  const port = parsePortArgument(input.service, input.services);
  const lines = [`USER:${input.user},  SRC:${input.src},  DST:${input.dst}, PORT:${port ?? input.service}`];
  const request = {
    user: input.user,
    src: input.src,
    dst: input.dst,
    ...(port === undefined ? {} : { port }),
  };
  if (port === undefined) return sockdPortError(input.service, lines, request);
  const [src, dst] = await Promise.all([
    hostFromArgument(input.resolver, input.src),
    hostFromArgument(input.resolver, input.dst),
  ]);
  const access = simulateAccess(input, { src, dst, user: input.user, port, command: 'connect' as const });
  lines.push(...accessLines(input.config, access));
  const route = access.outcome.granted && input.route ? checkRouteFile(input.route, dst) : undefined;
  if (route) lines.push(...route.lines);
  const permitted = access.outcome.granted && (route?.permitted ?? true);
  const exitCode = permitted ? SockdCheckExit.Permitted : SockdCheckExit.Denied;
  const { decision, outcome, realUser, commands } = access;
  return {
    lines,
    exitCode,
    permitted,
    commands,
    record: {
      tool: 'test_sockd_conf',
      request,
      permitted,
      ...serverReply(input.dst, dst, permitted, outcome.reply),
      rule: decision.rule,
      source: decision.source,
      action: decision.rule ? decision.action : null,
      identdMode: decision.rule && decision.action === 'permit' ? decision.identd : null,
      identdVerdict: outcome.identdVerdict,
      realUser,
      userFileErrors: decision.userFileErrors,
      commands: commands.map((c) => ({ origin: c.origin, ...commandRecord(c) })),
      route: route?.record ?? null,
      errors: [],
      exitCode,
    },
  };
}

/** f.5 when the port argument is unusable: the header, the error line, exit 255. */
function sockdPortError(
  service: string,
  lines: string[],
  request: SockdCheckRecord['request'],
): SockdCheckResult {
  const error = invalidPort(service);
  lines.push(error);
  return {
    lines,
    exitCode: SockdCheckExit.Error,
    permitted: false,
    commands: [],
    record: {
      tool: 'test_sockd_conf',
      request,
      permitted: false,
      reply: null,
      replyReason: null,
      rule: null,
      source: null,
      action: null,
      identdMode: null,
      identdVerdict: null,
      realUser: null,
      userFileErrors: [],
      commands: [],
      route: null,
      errors: [error],
      exitCode: SockdCheckExit.Error,
    },
  };
}

/** What the server's access step would decide for this request under the identd simulation. */
interface SimulatedAccess {
  readonly decision: ReturnType<typeof simulatedDecision>;
  readonly outcome: AccessOutcome;
  readonly realUser: string;
  /** The commands the decision runs, in run order, expanded for this request. */
  readonly commands: CheckedCommand[];
}

function simulateAccess(
  input: SockdCheckInput,
  request: Parameters<typeof decideServerAccess>[1],
): SimulatedAccess {
  const identdDefault: IdentdMode = input.simulation.kind === 'exact' ? input.simulation.mode : 'off';
  const raw = decideServerAccess(input.config, request, {
    identdDefault,
    userFiles: input.userFiles,
    serviceNameOf: (p) => input.services.nameOf(p),
  });
  const matchedRule = raw.rule ? input.config.rules.find((r) => r.line === raw.rule?.line) : undefined;
  const decision = simulatedDecision(input.simulation, raw, matchedRule?.identd?.mode === 'off');
  const outcome = applyIdentd(decision, identdInput(input.simulation, decision, input.user));
  const legacyBadId = input.simulation.kind === 'legacy' && outcome.identdVerdict === 'mismatch';
  const realUser = legacyBadId ? 'unknown' : outcome.realUser;
  const commands = expandAll(outcome.commands, serverCommandContext(decision, realUser, input.pid));
  return { decision, outcome, realUser, commands };
}

/** The printed lines of the access decision: user file errors, the rule line, its commands, why denied. */
function accessLines(config: ServerConfig, access: SimulatedAccess): string[] {
  const { decision, outcome, commands } = access;
  const lines = [...decision.userFileErrors];
  if (decision.rule === null) {
    lines.push('*** No match with any line. Access denied.');
    return lines;
  }
  lines.push(`Line ${decision.rule.line}: ${decision.source}`);
  const special = (origin: CommandOrigin) =>
    origin === 'NO_IDENTD' ? config.noIdentd : origin === 'BAD_ID' ? config.badId : undefined;
  for (const c of commands) {
    const s = special(c.origin);
    if (s) lines.push(`Line ${s.line}: #${c.origin}:${s.command}`);
    lines.push(commandLine(c));
  }
  if (outcome.reply === Socks4Reply.NoIdentd) lines.push('Access denied: cannot verify user-id.');
  if (outcome.reply === Socks4Reply.BadId) lines.push('Access denied: bad user-id.');
  return lines;
}

/** -R: the interface a multi-homed server would use for the destination, or why it has none. */
function checkRouteFile(
  route: NonNullable<SockdCheckInput['route']>,
  dst: HostIdentity,
): { lines: string[]; permitted: boolean; record: NonNullable<SockdCheckRecord['route']> } {
  const lines = [`==== Checking routing file (${route.file})...`];
  const none = { file: route.file, iface: null, line: null };
  if (route.config === null) {
    lines.push(`Unable to open routing file (${route.file})`);
    return { lines, permitted: false, record: none };
  }
  const choice = chooseInterface(route.config, dst);
  if (choice === null) {
    lines.push(noInterfaceMessage(dst));
    return { lines, permitted: false, record: none };
  }
  const routeLine = route.config.routes.find((r) => r.line === choice.rule.line);
  lines.push(`Line ${choice.rule.line}: ${routeLine?.source ?? ''}`);
  return {
    lines,
    permitted: true,
    record: { file: route.file, iface: choice.iface, line: choice.rule.line },
  };
}

/**
 * What the server would answer: 90 when permitted, else the refusal code. b.3: the rules permit,
 * but a name with no address cannot be dialled; the server answers 91 (logging `failed -- …
 * gethostbyname()`), so the record gives that answer and says why. The exit status and text lines
 * stay the rule's verdict, as the original tool printed them.
 */
function serverReply(
  dstArgument: string,
  dst: HostIdentity,
  permitted: boolean,
  refusal: number,
): Pick<SockdCheckRecord, 'reply' | 'replyReason'> {
  const { Granted, Rejected } = Socks4Reply;
  const unresolved = permitted && inetAton(dstArgument) === undefined && dst.addresses.length === 0;
  if (unresolved) {
    return {
      reply: Rejected,
      replyReason: `destination name ${dstArgument} cannot be resolved: the server answers ${Rejected} (gethostbyname() failed, spec b.3)`,
    };
  }
  return { reply: permitted ? Granted : refusal === Granted ? Rejected : refusal, replyReason: null };
}

export interface SocksCheckInput {
  readonly user: string;
  readonly dst: string;
  readonly service: string;
  /** null = no routing file at all (d.1: everything direct). */
  readonly config: ClientConfig | null;
  /** The file that was looked for (for the no-file line). */
  readonly file: string;
  readonly defaultServer?: string;
  /** `%A`/`%a` for commands: the requesting client (j.30); the checker has none, so a stand-in. */
  readonly src: string;
  readonly resolver: Resolver;
  readonly userFiles: UserFileReader;
  readonly services: ServiceTable;
  readonly pid: number;
}

export interface SocksCheckRecord {
  readonly tool: 'test_socks_conf';
  readonly request: { readonly user: string; readonly dst: string; readonly port?: number };
  readonly decision: RouteDecision['action'] | null;
  readonly rule: RuleCite | null;
  readonly source: string | null;
  readonly shortcut: RouteDecision['shortcut'];
  readonly servers: readonly string[];
  readonly usedDefault: boolean;
  readonly userFileErrors: readonly string[];
  readonly commands: readonly {
    readonly line: number;
    readonly text: string;
    readonly ran: boolean;
    readonly error?: string;
  }[];
  readonly errors: readonly string[];
  readonly exitCode: number;
}

export interface SocksCheckResult {
  readonly lines: readonly string[];
  readonly exitCode: 0 | 1 | 2 | 255;
  readonly decision: RouteDecision | null;
  readonly commands: readonly CheckedCommand[];
  readonly record: SocksCheckRecord;
}

/** Exit status of f.6 by routing decision. */
const SocksExitOf = {
  deny: SocksCheckExit.Deny,
  direct: SocksCheckExit.Direct,
  sockd: SocksCheckExit.Sockd,
} as const satisfies Record<RouteDecision['action'], number>;

/** f.6: the request's header line, the socks.conf decision and its command, then the decision and servers. */
export async function checkSocksConf(input: SocksCheckInput): Promise<SocksCheckResult> {
  const port = parsePortArgument(input.service, input.services);
  const lines = [`USER:${input.user},  DST:${input.dst}, PORT:${port ?? input.service}`];
  const request = { user: input.user, dst: input.dst, ...(port === undefined ? {} : { port }) };
  if (port === undefined) return socksPortError(input.service, lines, request);
  const [dst, src] = await Promise.all([
    hostFromArgument(input.resolver, input.dst),
    hostFromArgument(input.resolver, input.src),
  ]);
  const decision = decideClientRoute(
    input.config,
    { dst, user: input.user, port },
    {
      userFiles: input.userFiles,
      ...(input.defaultServer === undefined ? {} : { defaultServer: input.defaultServer }),
    },
  );
  const commands = expandAll(
    decision.command ? [decision.command] : [],
    clientCommandContext(input, src, dst, port),
  );
  lines.push(...routeLines(input.file, decision, dst, commands));
  const exitCode = SocksExitOf[decision.action];
  return {
    lines,
    exitCode,
    decision,
    commands,
    record: {
      tool: 'test_socks_conf',
      request,
      decision: decision.action,
      rule: decision.rule,
      source: decision.source,
      shortcut: decision.shortcut,
      servers: decision.servers,
      usedDefault: decision.usedDefault,
      userFileErrors: decision.userFileErrors,
      commands: commands.map(commandRecord),
      errors: [],
      exitCode,
    },
  };
}

/** f.6 when the port argument is unusable: the header, the error line, exit 255. */
function socksPortError(
  service: string,
  lines: string[],
  request: SocksCheckRecord['request'],
): SocksCheckResult {
  const error = invalidPort(service);
  lines.push(error);
  return {
    lines,
    exitCode: SocksCheckExit.Error,
    decision: null,
    commands: [],
    record: {
      tool: 'test_socks_conf',
      request,
      decision: null,
      rule: null,
      source: null,
      shortcut: null,
      servers: [],
      usedDefault: false,
      userFileErrors: [],
      commands: [],
      errors: [error],
      exitCode: SocksCheckExit.Error,
    },
  };
}

/** The `%` context of a socks.conf command: the checker has no real client, so `--src` stands in. */
function clientCommandContext(
  input: SocksCheckInput,
  src: HostIdentity,
  dst: HostIdentity,
  port: number,
): CommandContext {
  return {
    srcHost: src.display,
    srcAddr: src.dotted,
    command: 'connect',
    pid: input.pid,
    dstServ: serviceLabel(port, (p) => input.services.nameOf(p)),
    dstPort: port,
    realUser: 'unknown',
    user: input.user,
    dstHost: dst.display,
    dstAddr: dst.dotted,
  };
}

/** The printed lines of a routing decision: why (line, shortcut or none), its command, the decision. */
function routeLines(
  file: string,
  decision: RouteDecision,
  dst: HostIdentity,
  commands: readonly CheckedCommand[],
): string[] {
  const lines = [...decision.userFileErrors];
  if (decision.shortcut === 'loopback') {
    lines.push(`Destination ${dst.dotted} is always direct; ${file} is not consulted.`);
  } else if (decision.shortcut === 'no-file') {
    lines.push(`No routing file (${file}): every destination is direct.`);
  } else if (decision.rule === null) {
    lines.push('*** No match with any line. Access denied.');
  } else {
    lines.push(`Line ${decision.rule.line}: ${decision.source}`);
  }
  for (const c of commands) lines.push(commandLine(c));
  lines.push(`Decision: ${decision.action}`);
  if (decision.action === 'sockd') {
    lines.push(`Servers: ${decision.servers.length > 0 ? decision.servers.join(', ') : '(none)'}`);
  }
  return lines;
}

/** The record for a run that stopped before evaluation (usage or configuration error). */
export function errorRecord(
  tool: 'test_sockd_conf' | 'test_socks_conf',
  errors: readonly string[],
): { readonly tool: string; readonly errors: readonly string[]; readonly exitCode: 255 } {
  return { tool, errors, exitCode: 255 };
}
