import { describeReply, replyProtocol } from './replies.ts';
import type { HopDestination, Trace, TraceHop } from './trace.ts';

/** A trace as plain text lines, for terminal failures and Markdown: one line per hop. */
export function traceLines(trace: Trace): string[] {
  const lines = [
    `${originUser(trace)}@${trace.origin.host} → ${trace.command} ${trace.target.host}:${trace.target.port} (${trace.protocol})` +
      `: reply ${describeReply(trace.reply, trace.protocol)}`,
  ];
  if (trace.clientRoute) {
    lines.push(
      `  ${trace.origin.host} socks.conf: ${trace.clientRoute.action} (line ${trace.clientRoute.line ?? '-'})`,
    );
  }
  for (const hop of trace.hops) lines.push(`  ${hopLine(hop, trace.origin.host)}`);
  const d = trace.destination;
  if (d) lines.push(`  destination ${d.host}: ${d.reached ? 'reached' : 'not reached'}`);
  lines.push(`  path: ${trace.path.join(' → ')}`);
  return lines;
}

/**
 * Whether a hop's destination is worth words: it got a name, or an address a hop (not the origin's
 * own SOCKS 4 client, the usual case) resolved for it.
 */
export function showsDestination(d: HopDestination | undefined, origin?: string): d is HopDestination {
  return !!d && (d.received === 'name' || (d.name !== undefined && d.resolvedBy !== origin));
}

export function hopLine(hop: TraceHop, origin?: string): string {
  const d = hop.decision;
  const parts = [
    `${hop.host} (${hop.service}) from ${hop.from} as ${hop.user || '""'}`,
    ...(showsDestination(hop.destination, origin) ? [destinationText(hop.destination)] : []),
    `${d.action} by ${d.file ?? '(no rule)'}:${d.line ?? '-'} [${d.reason}]`,
  ];
  if (hop.identd) {
    parts.push(
      `identd ${hop.identd.queried}: ${hop.identd.user ?? hop.identd.answer ?? 'no answer'} (${hop.identd.verdict})`,
    );
  }
  if (hop.route) {
    const tries = hop.route.attempts
      .map((a) => `${attemptTarget(a)}${a.ok ? '' : ` ✗ ${a.error ?? 'unreachable'}`}`)
      .join(', ');
    parts.push(
      `route ${hop.route.action}${hop.route.line !== null ? ` (line ${hop.route.line})` : ''}${tries ? ` via ${tries}` : ''}`,
    );
  }
  if (hop.iface) {
    const i = hop.iface;
    parts.push(
      `sockd.route ${i.line === null ? '(no line matches)' : `${i.file ?? 'sockd.route'}:${i.line}${i.text !== undefined ? ` "${i.text}"` : ''}`} → ${i.address ?? 'refused'}`,
    );
  }
  if (hop.outbound) parts.push(`→ ${hop.outbound.to}`);
  const protocol = replyProtocol(hop.replyVersion);
  parts.push(`reply ${describeReply(hop.reply, protocol)}`);
  if (hop.bound) parts.push(`bound ${hop.bound.address}:${hop.bound.port}`);
  if (hop.secondReply !== undefined) parts.push(`second reply ${describeReply(hop.secondReply, protocol)}`);
  return parts.join('; ');
}

/**
 * What a hop received as destination, in words: `got name db.internal, unresolvable here (resolved
 * by D)`, `got name app.corp → 10.2.0.30`, `got 10.2.0.30 (app.corp, resolved by B)`.
 */
export function destinationText(d: HopDestination): string {
  if (d.received === 'name') {
    const here = d.address !== null ? ` → ${d.address}` : ', unresolvable here';
    const by =
      d.address === null ? ` (${d.resolvedBy ? `resolved by ${d.resolvedBy}` : 'resolved nowhere'})` : '';
    return `got name ${d.name ?? '?'}${here}${by}`;
  }
  const from = d.name !== undefined ? ` (${d.name}, resolved by ${d.resolvedBy ?? '?'})` : '';
  return `got ${d.address ?? '?'}${from}`;
}

/** The fields of a fail-over attempt that its text uses (trace and report shapes alike). */
export interface AttemptLike {
  readonly server: string;
  readonly host?: string | null;
  readonly address?: string | null;
  readonly port?: number | null;
}

/**
 * Which server an attempt tried, by host and address: `fw1 (10.0.0.3:1080)`; the address alone
 * when no topology host has it; the name alone when it did not resolve. One text for traces,
 * diagrams and reports, so a failure reads the same wherever it is shown.
 */
export function attemptTarget(a: AttemptLike): string {
  const who = a.host ?? a.server;
  // An older trace keeps no address: the server entry is the address when a host was matched to it.
  const address =
    a.address ?? (a.host !== undefined && a.host !== null && a.host !== a.server ? a.server : null);
  if (address === null) return who;
  const at = a.port === undefined || a.port === null ? address : `${address}:${a.port}`;
  return who === a.address ? at : `${who} (${at})`;
}

/** `x`, or `y (claims x)` for a forged claim: the socket's owner and the USERID it sent. */
export function originUser(trace: Pick<Trace, 'origin'>): string {
  if (trace.origin.claim === undefined) return trace.origin.user;
  return trace.origin.claimVia === 'rfc1929'
    ? `${trace.origin.user} (logs in as ${trace.origin.claim})`
    : `${trace.origin.user} (claims ${trace.origin.claim})`;
}
