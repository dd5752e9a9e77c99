/**
 * How test_sockd_conf (f.5) simulates identd for one request: which answer the client's identd
 * gives and which identd mode then applies to the matched line. Pure policy: the tool's argv,
 * lines and exit statuses are cli/checker.ts.
 */
import type { IdentdMode } from '../config/ast.ts';
import type { AccessDecision, IdentdResult } from './server-access.ts';

/**
 * How identd is simulated (f.5). `legacy` = the original flags: no flag → identd confirms the
 * user; `-i` unreachable but tolerated; `-I` unreachable, strict; `-B` another user (real user
 * `unknown`); a matched line with `?=n`/`?=` suppresses the simulation, `?=I`/`?=i` do not change
 * it. `exact` = the real server logic (c.9, g.5) with a global mode and a scripted identd.
 */
export type IdentdSimulation =
  | { readonly kind: 'legacy'; readonly flag: 'none' | 'i' | 'I' | 'B' }
  | {
      readonly kind: 'exact';
      readonly mode: IdentdMode;
      readonly identd: 'agree' | 'unreachable' | 'error' | { readonly user: string };
    };

/** What the simulated identd answers for a request the decision asks identd about. */
export function identdInput(sim: IdentdSimulation, decision: AccessDecision, user: string): IdentdResult {
  if (decision.identd === 'off') return { kind: 'not-asked' };
  if (sim.kind === 'legacy') {
    if (sim.flag === 'i' || sim.flag === 'I')
      return { kind: 'unavailable', reason: `simulated -${sim.flag}` };
    // -B: "a different user"; the tool does not know which, so it reports REALUSER as
    // `unknown` (cli/checker.ts).
    if (sim.flag === 'B') return { kind: 'user', user: `${user}\u0000` };
    return { kind: 'user', user };
  }
  if (sim.identd === 'agree') return { kind: 'user', user };
  if (sim.identd === 'unreachable' || sim.identd === 'error') {
    return { kind: 'unavailable', reason: `simulated ${sim.identd}` };
  }
  return { kind: 'user', user: sim.identd.user };
}

/** The effective identd mode the simulation applies to the matched line. */
export function simulatedDecision(
  sim: IdentdSimulation,
  decision: AccessDecision,
  explicitOff: boolean,
): AccessDecision {
  if (sim.kind === 'exact' || decision.action === 'deny') return decision;
  // Original tool: an explicit ?=n/?= switches identd off; otherwise the flags decide, whatever
  // ?=I/?=i say. No flag = identd asked and agreeing.
  if (explicitOff) return { ...decision, identd: 'off' };
  return { ...decision, identd: sim.flag === 'i' ? 'lenient' : 'strict' };
}
