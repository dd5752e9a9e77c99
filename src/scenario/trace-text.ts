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
    const tries = hop.route.attempts.map((a) => `${a.host ?? a.server}${a.ok ? '' : ' ✗'}`).join(', ');
    parts.push(
      `route ${hop.route.action}${hop.route.line !== null ? ` (line ${hop.route.line})` : ''}${tries ? ` via ${tries}` : ''}`,
    );
  }
  if (hop.outbound) parts.push(`→ ${hop.outbound.to}`);
  parts.push(`reply ${describeReply(hop.reply, hop.replyVersion === 5 ? 'socks5' : 'socks4')}`);
  return parts.join('; ');
}

/** `x`, or `y (claims x)` for a forged claim: the socket's owner and the USERID it sent. */
export function originUser(trace: Pick<Trace, 'origin'>): string {
  return trace.origin.claim !== undefined
    ? `${trace.origin.user} (claims ${trace.origin.claim})`
    : trace.origin.user;
}
