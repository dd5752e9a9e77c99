import { isDottedQuadShape } from '../common/inet-address.ts';
import type { ProbeProtocol } from '../runtime/runtime.ts';
import { parseElapsedBound } from './elapsed.ts';
import type { YamlPath } from './load.ts';
import type {
  CaseExpectations,
  HopExpectation,
  IdentdExpectation,
  RouteExpectation,
  RuleExpectation,
  TextMatcher,
} from './model.ts';
import { AllReplyNames, resolveReply } from './replies.ts';
import type { ResolveCtx } from './resolve-context.ts';
import type { RawExpect, RawHopExpect } from './schema.ts';

/**
 * A case's `expect:` (or a table row's) checked against the topology and normalised: reply names
 * to codes, log matchers to regular expressions or substrings, timer bounds, per-hop keys.
 */

export function resolveExpect(
  ctx: ResolveCtx,
  e: RawExpect,
  protocol: ProbeProtocol,
  path: YamlPath,
  target: string,
): CaseExpectations {
  const identd: IdentdExpectation[] = Object.entries(e.identd ?? {}).map(([hopHost, v]) => {
    const p = [...path, 'identd', hopHost];
    ctx.host(hopHost, p);
    if (typeof v === 'string')
      return v === 'none' ? { host: hopHost, none: true } : { host: hopHost, user: v };
    if (v.queried !== undefined) ctx.host(v.queried, [...p, 'queried']);
    return { host: hopHost, ...v } as IdentdExpectation;
  });
  const routes: RouteExpectation[] = (
    e.route === undefined ? [] : Array.isArray(e.route) ? e.route : [e.route]
  ).map((r, i) => {
    ctx.host(r.host, Array.isArray(e.route) ? [...path, 'route', i, 'host'] : [...path, 'route', 'host']);
    return r as RouteExpectation;
  });
  const hopExpectations: HopExpectation[] = Object.entries(e.hops ?? {}).map(([hopHost, v]) =>
    resolveHopExpect(ctx, hopHost, v, protocol, [...path, 'hops', hopHost], target),
  );
  (e.path ?? []).forEach((h, i) => {
    if (!ctx.hosts.has(h) && !isDottedQuadShape(h)) ctx.host(h, [...path, 'path', i]);
  });
  (e.rules ?? []).forEach((r, i) => {
    ctx.host(r.host, [...path, 'rules', i, 'host']);
  });
  const list = (key: 'logs' | 'noLogs' | 'commands') =>
    (e[key] ?? []).map((m, i) => matcher(ctx, m, [...path, key, i]));
  return {
    ...(e.reply !== undefined ? { reply: reply(ctx, e.reply, protocol, [...path, 'reply']) } : {}),
    ...(e.secondReply !== undefined
      ? { secondReply: reply(ctx, e.secondReply, protocol, [...path, 'secondReply']) }
      : {}),
    ...(e.path !== undefined ? { path: e.path } : {}),
    rules: (e.rules ?? []).map((r) => ({ ...r }) as RuleExpectation),
    identd,
    routes,
    ...(hopExpectations.length > 0 ? { hops: hopExpectations } : {}),
    ...(e.clientRoute !== undefined
      ? { clientRoute: e.clientRoute as NonNullable<CaseExpectations['clientRoute']> }
      : {}),
    logs: list('logs'),
    noLogs: list('noLogs'),
    commands: list('commands'),
    ...(e.received !== undefined ? { received: e.received } : {}),
    ...(e.echo !== undefined ? { echo: e.echo } : {}),
    ...(e.reached !== undefined ? { reached: e.reached } : {}),
    ...(e.elapsed !== undefined ? { elapsed: elapsedBounds(ctx, e.elapsed, [...path, 'elapsed']) } : {}),
  };
}

function resolveHopExpect(
  ctx: ResolveCtx,
  hopHost: string,
  v: RawHopExpect,
  protocol: ProbeProtocol,
  p: YamlPath,
  target: string,
): HopExpectation {
  ctx.host(hopHost, p);
  if (v.resolvedBy !== undefined && v.resolvedBy !== null) ctx.host(v.resolvedBy, [...p, 'resolvedBy']);
  // The only name a hop can receive, or have had resolved for it, is the case's destination.
  if (v.name !== undefined && v.name.toLowerCase() !== target.toLowerCase())
    ctx.fail(
      [...p, 'name'],
      `unknown name "${v.name}": this case's destination is ${target}, the only name a hop can receive`,
    );
  for (const key of ['address', 'bound'] as const) {
    const a = v[key];
    if (typeof a === 'string' && !isDottedQuadShape(a))
      ctx.fail([...p, key], `"${a}" is not a dotted IPv4 address`, 'E_SCENARIO_SCHEMA');
  }
  const { secondReply, sockdRoute, ...rest } = v;
  return {
    host: hopHost,
    ...(Object.fromEntries(Object.entries(rest).filter(([, x]) => x !== undefined)) as Omit<
      HopExpectation,
      'host' | 'secondReply' | 'sockdRoute'
    >),
    ...(secondReply !== undefined
      ? {
          secondReply: secondReply === null ? null : reply(ctx, secondReply, protocol, [...p, 'secondReply']),
        }
      : {}),
    ...(sockdRoute !== undefined
      ? {
          sockdRoute: Object.fromEntries(
            Object.entries(sockdRoute).filter(([, x]) => x !== undefined),
          ) as NonNullable<HopExpectation['sockdRoute']>,
        }
      : {}),
  };
}

function reply(
  ctx: ResolveCtx,
  value: number | string,
  protocol: ProbeProtocol,
  path: YamlPath,
): number | null {
  const code = resolveReply(value, protocol);
  if (code === undefined) {
    ctx.fail(
      path,
      `unknown reply "${value}" for ${protocol}; use a number or one of: ${AllReplyNames.join(', ')}`,
      'E_SCENARIO_REPLY',
    );
  }
  return code as number | null;
}

function matcher(
  ctx: ResolveCtx,
  m: RawExpect['logs'] extends readonly (infer M)[] | undefined ? M : never,
  path: YamlPath,
): TextMatcher {
  const regex = (source: string, flags: string, text: string, at?: string): TextMatcher => {
    try {
      new RegExp(source, flags);
    } catch (err) {
      ctx.fail(path, `bad regular expression: ${(err as Error).message}`, 'E_SCENARIO_SCHEMA');
    }
    return { ...(at !== undefined ? { host: at } : {}), regex: { source, flags }, text };
  };
  if (typeof m === 'string') {
    // Shorthand: `/re/flags` is a regular expression, anything else a substring.
    const re = /^\/(.*)\/([dgimsuyv]*)$/s.exec(m);
    return re ? regex(re[1]!, re[2]!, m) : { contains: m, text: m };
  }
  if ((m.contains === undefined) === (m.regex === undefined)) {
    ctx.fail(path, 'give exactly one of contains or regex', 'E_SCENARIO_SCHEMA');
  }
  if (m.host !== undefined) ctx.host(m.host, [...path, 'host']);
  if (m.regex !== undefined) return regex(m.regex, '', `/${m.regex}/`, m.host);
  return { ...(m.host !== undefined ? { host: m.host } : {}), contains: m.contains!, text: m.contains! };
}

function elapsedBounds(
  ctx: ResolveCtx,
  e: NonNullable<RawExpect['elapsed']>,
  path: YamlPath,
): NonNullable<CaseExpectations['elapsed']> {
  const one = (key: 'after' | 'before') => {
    const v = e[key];
    if (v === undefined) return {};
    const b = parseElapsedBound(v);
    if (typeof b === 'string') return ctx.fail([...path, key], b, 'E_SCENARIO_SCHEMA');
    return { [key]: b };
  };
  return { ...one('after'), ...one('before') };
}
