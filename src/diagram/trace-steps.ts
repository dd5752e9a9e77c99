/**
 * A trace as an ordered list of drawable steps: each hop's request (with the decision and the
 * rule line that made it), its identd query, its failed fail-over attempts, and finally the
 * connection to the destination. The DOT overlay, the Mermaid flow and the sequence view all
 * draw these same steps, so they number them the same way.
 */
import type { Trace, TraceHop } from '../scenario/trace.ts';
import { attemptTarget, originUser } from '../scenario/trace-text.ts';

export type StepStatus =
  /** the hop accepted the request (or the destination was reached) */
  | 'granted'
  /** the hop refused it (sockd.conf or socks.conf), or the destination was not reached */
  | 'refused'
  /** an identd query and its answer */
  | 'identd'
  /** a fail-over attempt that could not connect */
  | 'failed';

export interface TraceStep {
  /** 1-based, in the order things happened. */
  readonly n: number;
  readonly kind: 'request' | 'identd' | 'attempt' | 'destination';
  /** Host names as the trace gives them (a name, or an address for things outside the topology). */
  readonly from: string;
  readonly to: string;
  readonly status: StepStatus;
  /** One line for an edge label, without the step number. */
  readonly label: string;
  /** `file:line` of the rule that decided, when a rule did. */
  readonly cite?: string;
  /** Request steps only: the request as it arrived, and the hop's decision (for sequence views). */
  readonly request?: { readonly arrival: string; readonly decision: string };
}

/** SOCKS 4 reply codes (spec b.2) in words. */
export const replyWords: Readonly<Record<number, string>> = {
  90: 'granted',
  91: 'rejected or failed',
  92: 'rejected: identd unreachable',
  93: 'rejected: identd disagrees',
};

export function replyText(code: number | null): string {
  if (code === null) return 'no reply';
  return `reply ${code} (${replyWords[code] ?? 'unknown code'})`;
}

function cite(file: string | null, line: number | null): string | undefined {
  if (file === null) return undefined;
  return line === null ? file : `${file}:${line}`;
}

/** What the hop decided, with the rule line; a socks.conf `deny` counts as the hop refusing. */
function requestStep(hop: TraceHop, trace: Trace): Omit<TraceStep, 'n'> {
  const user = hop.user === '' ? '(no user)' : hop.user;
  const arrival = `${user}: ${trace.command} ${trace.target.host}:${trace.target.port}`;
  const base = { kind: 'request' as const, from: hop.from, to: hop.host };
  const decided = (status: StepStatus, decision: string, where: string | undefined) => ({
    ...base,
    status,
    label: `${user}: ${decision}`,
    ...(where === undefined ? {} : { cite: where }),
    request: { arrival, decision },
  });
  if (hop.decision.action === 'deny') {
    const where = cite(hop.decision.file, hop.decision.line);
    const why = where === undefined ? hop.decision.reason : `${where} (${hop.decision.reason})`;
    return decided('refused', `refused by ${why}`, where);
  }
  if (hop.route?.action === 'deny') {
    const where = cite(hop.route.file, hop.route.line);
    return decided('refused', `permitted, then refused by ${where ?? 'socks.conf'} (route deny)`, where);
  }
  const where = cite(hop.decision.file, hop.decision.line);
  const routeCite = hop.route === undefined ? undefined : cite(hop.route.file, hop.route.line);
  const route =
    hop.route === undefined
      ? ''
      : `, ${hop.route.action === 'direct' ? 'direct' : 'via server'}${routeCite === undefined ? '' : ` by ${routeCite}`}`;
  return decided('granted', `permit${where === undefined ? '' : ` ${where}`}${route}`, where);
}

function identdStep(hop: TraceHop): Omit<TraceStep, 'n'> | undefined {
  const identd = hop.identd;
  if (identd === undefined) return undefined;
  let answer: string;
  if (identd.verdict === 'confirmed') answer = `says ${identd.user ?? hop.user} ✓`;
  else if (identd.verdict === 'mismatch') answer = `says ${identd.user ?? '?'}, not ${hop.user} ✗`;
  else answer = identd.answer === null ? 'no answer' : `unusable answer "${identd.answer}"`;
  // A scripted identd says how it behaved; a fault scenario reads better with it.
  const behaviour =
    identd.behaviour === undefined || identd.behaviour === 'truthful' ? '' : ` (${identd.behaviour})`;
  return {
    kind: 'identd',
    from: hop.host,
    to: identd.queried,
    status: 'identd',
    label: `identd on ${identd.queried}${behaviour}: ${answer}`,
  };
}

/** The steps of a trace in the order they happened, numbered from 1. */
export function traceSteps(trace: Trace): TraceStep[] {
  const steps: Omit<TraceStep, 'n'>[] = [];
  for (const hop of trace.hops) {
    steps.push(requestStep(hop, trace));
    const identd = identdStep(hop);
    if (identd !== undefined) steps.push(identd);
    for (const attempt of hop.route?.attempts ?? []) {
      if (attempt.ok) continue;
      // The runner names the host behind the address when it knows it; draw to that host.
      const to = attempt.host ?? attempt.server;
      const server = attemptTarget(attempt);
      steps.push({
        kind: 'attempt',
        from: hop.host,
        to,
        status: 'failed',
        label: `✗ fail-over: ${server} ${attempt.error ?? 'unreachable'}`,
      });
    }
  }
  const last = trace.hops.at(-1);
  const destination = trace.destination?.host ?? trace.target.host;
  const lastGotThrough =
    last === undefined ||
    (last.decision.action === 'permit' && last.route?.action !== 'deny' && last.route?.action !== 'sockd');
  if (lastGotThrough) {
    const reached = trace.destination?.reached ?? false;
    const server = last?.host ?? trace.origin.host;
    if (trace.command === 'bind') {
      // BIND: the application server is expected to connect back to the last hop's listening socket.
      steps.push({
        kind: 'destination',
        from: destination,
        to: server,
        status: reached ? 'granted' : 'refused',
        label: reached
          ? `${destination} connected back (bind)`
          : `no connection back from ${destination} (bind${trace.secondReply == null ? '' : `, reply ${trace.secondReply}`})`,
      });
    } else {
      steps.push({
        kind: 'destination',
        from: server,
        to: destination,
        status: reached ? 'granted' : 'refused',
        label: `${trace.command} ${trace.target.host}:${trace.target.port}${reached ? '' : ' — not reached'}`,
      });
    }
  }
  return steps.map((step, i) => ({ n: i + 1, ...step }));
}

/** `x@C → Z:7 (connect): granted` — the one-line summary used as a title. */
export function traceSummary(trace: Trace): string {
  const user = trace.origin.user === '' ? '' : `${originUser(trace)}@`;
  return `${user}${trace.origin.host} → ${trace.target.host}:${trace.target.port} (${trace.command}, ${trace.protocol}): ${replyText(trace.reply)}`;
}
