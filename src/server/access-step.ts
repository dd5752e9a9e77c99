import { sinkWants } from '../common/events.ts';
import { parseDottedQuad } from '../common/inet-address.ts';
import type { ServerConfig } from '../config/ast.ts';
import type { Conn } from '../net/net.ts';
import {
  type HostIdentity,
  heldHostFromAddress,
  heldHostFromName,
  hostFromAddress,
  hostFromName,
} from '../policy/host.ts';
import { describeRequest } from '../policy/request-desc.ts';
import {
  type AccessDecision,
  applyIdentd,
  decideServerAccess,
  type IdentdResult,
} from '../policy/server-access.ts';
import type { ParsedRequest } from './handshake.ts';
import type { UnusableConfig } from './options.ts';
import { type Failure, Socks4Code } from './replies.ts';
import { runRuleCommand } from './rule-command.ts';
import type { SessionContext, SessionSteps } from './session-steps.ts';
import { snapshotUserFiles, userFilePaths } from './user-files.ts';

/**
 * The access decision of a session (a.5 steps 3 to 5, c.*, g.*): who the two ends are, whether
 * sockd.conf permits the request, what identd says, and the refusal when not. Session.process
 * runs these in order; what follows a permit (routing, dialling) is the step modules'.
 */

const NotAsked: IdentdResult = { kind: 'not-asked' };

/** The request's two ends, as rule matching and the log lines know them (c.6). */
export interface RequestEnds {
  readonly src: HostIdentity;
  readonly dst: HostIdentity;
  /** DSTSERV: the port's service name, or the number. */
  readonly dstServ: string;
}

/** The client's host and the destination, named and numbered (c.6), from the resolver. */
export async function identifyEnds(
  ctx: SessionContext,
  conn: Conn,
  req: ParsedRequest,
): Promise<{ src: HostIdentity; dst: HostIdentity }> {
  // Answers the resolver already holds (its cache) decide at once, without a promise per lookup.
  const nameWire = req.hostname !== undefined ? { wireAddress: parseDottedQuad(req.address) ?? 1 } : null;
  const srcNow = heldHostFromAddress(ctx.resolver, conn.remote.address);
  const dstNow =
    req.hostname !== undefined
      ? heldHostFromName(ctx.resolver, req.hostname, nameWire ?? {})
      : heldHostFromAddress(ctx.resolver, req.address);
  let src: HostIdentity;
  let dst: HostIdentity;
  if (srcNow && dstNow) {
    src = srcNow;
    dst = dstNow;
  } else {
    [src, dst] = await Promise.all([
      srcNow ?? hostFromAddress(ctx.resolver, conn.remote.address),
      dstNow ??
        (req.hostname !== undefined
          ? hostFromName(ctx.resolver, req.hostname, nameWire ?? {})
          : hostFromAddress(ctx.resolver, req.address)),
    ]);
  }
  return { src, dst };
}

/** sockd.conf could not be used (read or parse failure): its errors logged, the request refused. */
export function refuseUnusableConfig(
  s: SessionSteps,
  req: ParsedRequest,
  server: UnusableConfig,
  { src, dst, dstServ }: RequestEnds,
): void {
  for (const m of server.unusable) s.log('err', m);
  const desc = describeRequest({
    command: req.command,
    user: req.user,
    realUser: 'unknown',
    src,
    dst,
    dstServ,
  });
  s.log('notice', `refused -- ${desc}`);
  if (sinkWants(s.ctx.events, 'decision')) {
    s.emit({
      type: 'decision',
      action: 'deny',
      rule: null,
      reason: 'config-unusable',
      user: req.user,
      realUser: 'unknown',
    });
  }
  s.sendFailure(req, { kind: 'config-unusable' });
  s.finish('config-unusable');
}

/**
 * sockd.conf's decision and the identd check (g.5), with their events, log lines and shell
 * commands. A permitted request's decision and description; null when it was refused (answered
 * and finished) or the client left meanwhile.
 */
export async function checkAccess(
  s: SessionSteps,
  req: ParsedRequest,
  server: ServerConfig,
  { src, dst }: RequestEnds,
): Promise<{ decision: AccessDecision; reqdesc: string; realUser: string } | null> {
  const ctx = s.ctx;
  // Rules that name no user file (the usual case) are matched without waiting for anything.
  const userFiles =
    ctx.userFilesAsync && userFilePaths(server).length > 0
      ? await snapshotUserFiles(server, ctx.userFilesAsync, ctx.userFiles)
      : ctx.userFiles;
  const decision = decideServerAccess(
    server,
    { src, dst, user: req.user, port: req.port, command: req.command },
    {
      identdDefault: ctx.identdDefault,
      userFiles,
      serviceNameOf: ctx.serviceNameOf,
    },
  );
  let identd: IdentdResult = NotAsked;
  if (decision.action === 'permit' && decision.identd !== 'off') {
    const q = await ctx.identd({
      local: s.conn.local,
      remote: s.conn.remote,
      identdPort: ctx.identdPort,
      timeoutMs: ctx.timers.identd,
    });
    identd = q.kind === 'user' ? { kind: 'user', user: q.user } : { kind: 'unavailable', reason: q.reason };
    if (sinkWants(s.ctx.events, 'identd')) {
      s.emit({
        type: 'identd',
        queried: { address: s.conn.remote.address, port: ctx.identdPort },
        answer: q.answer,
        verdict: q.kind === 'unavailable' ? 'unavailable' : q.user === req.user ? 'confirmed' : 'mismatch',
        ...(q.kind === 'user' ? { user: q.user } : { reason: q.reason }),
      });
    }
  }
  const outcome = applyIdentd(decision, identd);
  if (sinkWants(s.ctx.events, 'decision')) {
    s.emit({
      type: 'decision',
      action: outcome.granted ? 'permit' : 'deny',
      rule: decision.rule,
      reason:
        outcome.identdVerdict === 'unavailable' && !outcome.granted
          ? 'identd-unavailable'
          : outcome.identdVerdict === 'mismatch'
            ? 'identd-mismatch'
            : decision.rule
              ? 'rule'
              : 'no-match',
      user: req.user,
      realUser: outcome.realUser,
    });
  }
  for (const step of outcome.steps) {
    if (step.kind === 'log') s.log(step.level, step.text);
    else await runRuleCommand(s, step.command, decision, outcome.realUser);
  }
  if (!outcome.granted) {
    const failure: Failure =
      outcome.reply === Socks4Code.NoIdentd
        ? { kind: 'identd-unavailable' }
        : outcome.reply === Socks4Code.BadId
          ? { kind: 'identd-mismatch' }
          : { kind: 'refused' };
    s.sendFailure(req, failure);
    s.finish('refused');
    return null;
  }
  if (s.gone) {
    s.finish('client-gone');
    return null;
  }
  return { decision, reqdesc: outcome.reqdesc, realUser: outcome.realUser };
}
