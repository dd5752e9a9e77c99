import { sinkWants } from '../common/events.ts';
import type { RouteConfig } from '../config/ast.ts';
import { chooseInterface, type InterfaceChoice, noInterfaceMessage } from '../policy/interface-choice.ts';
import type { ServerRules } from './options.ts';
import { isUnusable, type RunState, type SessionSteps } from './session-steps.ts';

/**
 * The local interface a multihomed server uses for a request, from sockd.route: the address a
 * BIND listens on (b.5, where a missing route refuses the request) and, with --route-connect,
 * the address a CONNECT dials from (where it only picks the source address).
 */

/**
 * The address a multihomed server's BIND listens on; null when sockd.route is missing, unusable
 * or names no interface for the destination (the request is then refused, answered and ended).
 */
export function bindInterface(s: SessionSteps, run: RunState, rules: ServerRules): string | null {
  const route = rules.route;
  if (!route || isUnusable(route)) {
    if (route && isUnusable(route)) for (const m of route.unusable) s.log('err', m);
    else s.log('err', `Unable to open routing file (${s.ctx.routePath})`);
    s.sendFailure(run.req, { kind: 'no-route' });
    s.finish('no-route-file');
    return null;
  }
  const choice = chooseReported(s, route as RouteConfig, run, 'bind');
  if (!choice) {
    s.log('err', noInterfaceMessage(run.dst));
    s.sendFailure(run.req, { kind: 'no-route' });
    s.finish('no-route');
    return null;
  }
  return choice.iface;
}

/** The source address of a CONNECT under --route-connect; undefined (the kernel's choice) without a usable route. */
export function connectInterface(s: SessionSteps, run: RunState, rules: ServerRules): string | undefined {
  const route = rules.route;
  if (!route || isUnusable(route)) return undefined;
  return chooseReported(s, route as RouteConfig, run, 'connect')?.iface;
}

/** sockd.route's interface for the destination, with its `interface` event. */
function chooseReported(
  s: SessionSteps,
  route: RouteConfig,
  run: RunState,
  purpose: 'bind' | 'connect',
): InterfaceChoice | null {
  const choice = chooseInterface(route, run.dst);
  if (sinkWants(s.ctx.events, 'interface')) {
    s.emit({
      type: 'interface',
      purpose,
      iface: choice?.iface ?? null,
      rule: choice?.rule ?? null,
      ...(choice ? { text: choice.text } : {}),
    });
  }
  return choice;
}
