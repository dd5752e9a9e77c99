/**
 * A trace as a sequence of messages and notes, for the sequence views: each request arrives,
 * the hop asks identd, then decides (a note citing the rule), fail-over attempts and the
 * destination follow, and finally each hop's reply travels back to its client.
 */
import { Socks4Reply } from '../scenario/replies.ts';
import type { Trace } from '../scenario/trace.ts';
import { replyText, type StepStatus, type TraceStep, traceSteps } from './trace-steps.ts';

export type MessageLook = StepStatus | 'arrival' | 'reply-ok' | 'reply-refused';

export type SequenceEvent =
  | {
      readonly kind: 'message';
      readonly from: string;
      readonly to: string;
      readonly text: string;
      readonly look: MessageLook;
    }
  | {
      readonly kind: 'note';
      readonly at: string;
      readonly text: string;
      readonly look: 'granted' | 'refused';
    };

export function sequenceEvents(trace: Trace): SequenceEvent[] {
  const events: SequenceEvent[] = [];
  let pending: SequenceEvent | undefined;
  const flush = () => {
    if (pending !== undefined) events.push(pending);
    pending = undefined;
  };
  const message = (step: TraceStep, text: string, look: MessageLook): SequenceEvent => ({
    kind: 'message',
    from: step.from,
    to: step.to,
    text: `${step.n} ${text}`,
    look,
  });
  for (const step of traceSteps(trace)) {
    // The identd query belongs between a request's arrival and its decision.
    if (!(step.kind === 'identd' && pending?.kind === 'note' && pending.at === step.from)) flush();
    if (step.kind === 'request' && step.request !== undefined) {
      events.push(message(step, step.request.arrival, 'arrival'));
      pending = {
        kind: 'note',
        at: step.to,
        text: step.request.decision,
        look: step.status === 'refused' ? 'refused' : 'granted',
      };
      continue;
    }
    events.push(message(step, step.label, step.status));
  }
  flush();
  for (const hop of [...trace.hops].reverse()) {
    if (hop.reply === null) continue;
    events.push({
      kind: 'message',
      from: hop.host,
      to: hop.from,
      text: replyText(hop.reply),
      look: hop.reply === Socks4Reply.Granted ? 'reply-ok' : 'reply-refused',
    });
  }
  return events;
}

/**
 * Participants in reading order: origin and the path first, the target last; anything else (an attempted server,
 * an identd-only host) goes just right of the host that first talks to it, so its arrows stay short.
 */
export function sequenceParticipants(trace: Trace, events: readonly SequenceEvent[]): string[] {
  const order: string[] = [];
  for (const name of [trace.origin.host, ...trace.path]) if (!order.includes(name)) order.push(name);
  const place = (name: string, beside: string) => {
    if (order.includes(name)) return;
    const at = order.indexOf(beside);
    if (at < 0) order.push(name);
    else order.splice(at + 1, 0, name);
  };
  for (const e of events) {
    if (e.kind === 'note') place(e.at, e.at);
    else {
      place(e.from, e.to);
      place(e.to, e.from);
    }
  }
  // Where the request was going, even when it never got there.
  const target = trace.destination?.host ?? trace.target.host;
  if (!order.includes(target)) order.push(target);
  return order;
}
