import { sinkWants } from '../common/events.ts';
import type { ClientConfig } from '../config/ast.ts';
import { decideClientRoute, type RouteDecision } from '../policy/client-route.ts';
import { describeRoutedCall, routeDenyLogs, routeDirectLog } from '../policy/request-desc.ts';
import type { ServerRules } from './options.ts';
import { runRuleCommand } from './rule-command.ts';
import { isUnusable, type RunState, type SessionSteps } from './session-steps.ts';
import { snapshotUserFiles, userFilePaths } from './user-files.ts';

/**
 * rsockd's routing step (spec d, a.5 step 6): the socks.conf decision for an accepted request —
 * deny (refused, answered here), direct, or via the `@=` servers — with its log lines, route
 * event and the line's shell command. Returns null when the session has been answered and ended.
 */
export async function routeRequest(
  s: SessionSteps,
  run: RunState,
  rules: ServerRules,
): Promise<RouteDecision | null> {
  const ctx = s.ctx;
  const { req, dst, dstServ, realUser } = run;
  const client = rules.client ?? null;
  const routed = describeRoutedCall({ command: req.command, user: req.user, realUser, dst, dstServ });
  if (isUnusable(client)) {
    for (const m of client.unusable) s.log('err', m);
    s.log('notice', routeDenyLogs(req.command, routed, run.reqdesc)[0]);
    if (sinkWants(ctx.events, 'route')) s.emit({ type: 'route', action: 'deny', rule: null, servers: [] });
    s.sendFailure(req, { kind: 'config-unusable' });
    s.finish('client-config-unusable');
    return null;
  }
  const userFiles =
    ctx.userFilesAsync && client && userFilePaths(client as ClientConfig).length > 0
      ? await snapshotUserFiles(client as ClientConfig, ctx.userFilesAsync, ctx.userFiles)
      : ctx.userFiles;
  const decision = decideClientRoute(
    client as ClientConfig | null,
    { dst, user: req.user, port: req.port },
    {
      userFiles,
      ...(ctx.defaultServer !== undefined ? { defaultServer: ctx.defaultServer } : {}),
    },
  );
  for (const e of decision.userFileErrors) s.log('err', e);
  if (sinkWants(ctx.events, 'route')) {
    s.emit({
      type: 'route',
      action: decision.action,
      rule: decision.rule,
      servers: decision.servers,
      ...(decision.shortcut ? { shortcut: decision.shortcut } : {}),
    });
  }
  if (decision.command) {
    await runRuleCommand(s, { ...decision.command, origin: 'route' }, run.decision, realUser);
  }
  if (decision.action === 'deny') {
    for (const line of routeDenyLogs(req.command, routed, run.reqdesc)) s.log('notice', line);
    s.sendFailure(req, { kind: 'refused' });
    s.finish('route-deny');
    return null;
  }
  if (decision.action === 'direct') {
    s.log('notice', routeDirectLog(req.command, routed));
  }
  if (s.gone) {
    s.finish('client-gone');
    return null;
  }
  return decision;
}
