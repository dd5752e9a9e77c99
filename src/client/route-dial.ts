import { isDottedQuadShape } from '../common/inet-address.ts';
import type { Resolver } from '../common/resolver.ts';
import type { ClientConfig } from '../config/ast.ts';
import type { UserFileReader } from '../config/user-file.ts';
import type { Conn, Net } from '../net/net.ts';
import { decideClientRoute, type RouteDecision } from '../policy/client-route.ts';
import { hostFromAddress, hostFromName } from '../policy/host.ts';
import { dialWithFailover, type ServerAttempt } from './failover.ts';

/**
 * What socks_clients(1) did before talking SOCKS: decide from socks.conf (with the policy
 * engine — the same code rsockd uses) whether to refuse, go direct, or which servers to try,
 * and open the TCP connection (d.7 fail-over through failover.ts, the loop rsockd's upstream step uses too).
 */
export interface RouteDialContext {
  readonly net: Net;
  readonly resolver: Resolver;
  readonly userFiles: UserFileReader;
  /** null: no socks.conf, everything direct (d.1). */
  readonly socksConf: ClientConfig | null;
  readonly defaultServer?: string;
  /** Port of every SOCKS server (d.5). */
  readonly serverPort: number;
  readonly connectTimeoutMs: number;
}

export type RouteDial =
  | { readonly kind: 'deny'; readonly decision: RouteDecision }
  | { readonly kind: 'direct'; readonly decision: RouteDecision; readonly conn: Conn }
  | {
      readonly kind: 'sockd';
      readonly decision: RouteDecision;
      readonly attempts: readonly ServerAttempt[];
      /** null when every server failed. */
      readonly conn: Conn | null;
      readonly server: { readonly entry: string; readonly address: string; readonly port: number } | null;
    };

/** Route decision only (no I/O besides name lookups). */
export async function decideRoute(
  ctx: Pick<RouteDialContext, 'resolver' | 'userFiles' | 'socksConf' | 'defaultServer'>,
  target: { readonly host: string; readonly port: number },
  user: string,
): Promise<RouteDecision> {
  const dst = isDottedQuadShape(target.host)
    ? await hostFromAddress(ctx.resolver, target.host)
    : await hostFromName(ctx.resolver, target.host);
  return decideClientRoute(
    ctx.socksConf,
    { dst, user, port: target.port },
    {
      userFiles: ctx.userFiles,
      ...(ctx.defaultServer !== undefined ? { defaultServer: ctx.defaultServer } : {}),
    },
  );
}

export async function dialByRoute(
  ctx: RouteDialContext,
  target: { readonly host: string; readonly port: number },
  user: string,
): Promise<RouteDial> {
  const decision = await decideRoute(ctx, target, user);
  if (decision.action === 'deny') return { kind: 'deny', decision };
  if (decision.action === 'direct') {
    const host = isDottedQuadShape(target.host)
      ? target.host
      : ((await ctx.resolver.forward(target.host))[0] ?? target.host);
    const conn = await ctx.net.connect({ host, port: target.port, timeoutMs: ctx.connectTimeoutMs });
    return { kind: 'direct', decision, conn };
  }
  const attempts: ServerAttempt[] = [];
  const dialled = await dialWithFailover(
    ctx.net,
    ctx.resolver,
    decision.servers,
    ctx.serverPort,
    ctx.connectTimeoutMs,
    { log: () => {}, attempt: (a) => attempts.push(a), cancelled: () => false },
  );
  if (dialled.kind !== 'connected') return { kind: 'sockd', decision, attempts, conn: null, server: null };
  const server = { entry: dialled.entry, address: dialled.address, port: ctx.serverPort };
  return { kind: 'sockd', decision, attempts, conn: dialled.conn, server };
}
