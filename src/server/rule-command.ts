import type { RuleCite } from '../common/events.ts';
import { expandCommand } from '../policy/command.ts';
import { type AccessDecision, type CommandTemplate, serverCommandContext } from '../policy/server-access.ts';
import type { SessionSteps } from './session-steps.ts';

/**
 * A rule's shell command (`: cmd`, `#NO_IDENTD:`, `#BAD_ID:`, or a socks.conf line's): expanded
 * with the request's values made safe for the shell (policy/command.ts), run through the server's
 * command runner under the shell-command timer, and logged and reported as spec h.6 says.
 */
export async function runRuleCommand(
  s: SessionSteps,
  command: CommandTemplate | { origin: 'route'; template: string; rule: RuleCite },
  decision: AccessDecision,
  realUser: string,
): Promise<void> {
  const ctx = s.ctx;
  const expanded = expandCommand(command.template, serverCommandContext(decision, realUser, ctx.pid));
  const base = {
    type: 'command' as const,
    origin: command.origin,
    rule: command.rule,
    command: expanded.text,
  };
  if (!expanded.ok) {
    s.log(expanded.reason === 'too-long' ? 'err' : 'notice', expanded.log);
    if (ctx.events) s.emit({ ...base, status: expanded.reason });
    return;
  }
  const r = await ctx.commands.run(expanded.runnable, { timeoutMs: ctx.timers.shellCommand });
  if (r.status === 'spawn-failed') s.log('err', `Cannot execute shell command for pid ${ctx.pid}`);
  else if (r.status === 'timeout')
    s.log(
      'notice',
      `shell command for pid ${ctx.pid} still running after ${fmtSeconds(ctx.timers.shellCommand)} s`,
    );
  if (ctx.events) {
    s.emit({ ...base, status: r.status, ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}) });
  }
}

function fmtSeconds(ms: number): string {
  return String(Math.round(ms / 10) / 100);
}
