import { describeReply } from './replies.ts';
import type { Trace, TraceHop } from './trace.ts';

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
  for (const hop of trace.hops) lines.push(`  ${hopLine(hop)}`);
  const d = trace.destination;
  if (d) lines.push(`  destination ${d.host}: ${d.reached ? 'reached' : 'not reached'}`);
  lines.push(`  path: ${trace.path.join(' → ')}`);
  return lines;
}

export function hopLine(hop: TraceHop): string {
  const d = hop.decision;
  const parts = [
    `${hop.host} (${hop.service}) from ${hop.from} as ${hop.user || '""'}`,
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
  if (hop.outbound) parts.push(`→ ${hop.outbound.to}`);
  parts.push(`reply ${describeReply(hop.reply, hop.replyVersion === 5 ? 'socks5' : 'socks4')}`);
  return parts.join('; ');
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
  return trace.origin.claim !== undefined
    ? `${trace.origin.user} (claims ${trace.origin.claim})`
    : trace.origin.user;
}
