import { hopDestinations } from '../scenario/destinations.ts';
import { describeReply } from '../scenario/replies.ts';
import type { PredictionCheck } from '../scenario/result.ts';
import type { Trace } from '../scenario/trace.ts';
import { destinationText } from '../scenario/trace-text.ts';
import type { Prediction } from './predict.ts';

/**
 * Observation vs prediction: where a run differs from what the configs and the topology say
 * should happen. Same policy code on both sides, so each difference is about the network
 * (a route that does not exist, a host that is down, a config the lab did not load).
 */
export function comparePrediction(prediction: Prediction, trace: Trace): PredictionCheck {
  const differences: string[] = [];
  const reply = (code: number | null | undefined) => describeReply(code, trace.protocol);
  if (prediction.reply !== trace.reply) {
    differences.push(`reply: predicted ${reply(prediction.reply)}, observed ${reply(trace.reply)}`);
  }
  if (
    trace.command === 'bind' &&
    prediction.secondReply !== undefined &&
    prediction.secondReply !== (trace.secondReply ?? null)
  ) {
    differences.push(
      `second reply: predicted ${reply(prediction.secondReply)}, observed ${reply(trace.secondReply)}`,
    );
  }
  if (prediction.path.join(' ') !== trace.path.join(' ')) {
    differences.push(`path: predicted ${prediction.path.join(' → ')}, observed ${trace.path.join(' → ')}`);
  }
  const destinations = hopDestinations(
    { host: trace.origin.host, target: trace.target.host, protocol: trace.protocol },
    prediction.hops.map((h) => h.receipt ?? { host: h.host }),
  );
  prediction.hops.forEach((p, i) => {
    const o = trace.hops.find((h) => h.host === p.host);
    const pd = p.receipt ? destinations[i] : undefined;
    const od = o?.destination;
    if (!o || !pd || !od) return;
    if (pd.received !== od.received || pd.address !== od.address || pd.resolvedBy !== od.resolvedBy) {
      differences.push(
        `${p.host} destination: predicted ${destinationText(pd)}, observed ${destinationText(od)}`,
      );
    }
  });
  for (const p of prediction.hops) {
    const o = trace.hops.find((h) => h.host === p.host);
    if (!o) continue; // already a path difference
    const pd = p.decision;
    const od = o.decision;
    if (pd.action !== od.action || pd.line !== od.line) {
      differences.push(
        `${p.host}: predicted ${pd.action} by ${pd.file ?? '(no rule)'}:${pd.line ?? '-'}, observed ${od.action} by ${od.file ?? '(no rule)'}:${od.line ?? '-'}`,
      );
    }
    if (
      (p.identd?.user ?? null) !== (o.identd?.user ?? null) ||
      (p.identd === undefined) !== (o.identd === undefined)
    ) {
      const show = (i: { queried: string; user: string | null } | undefined) =>
        i ? `${i.queried} says ${i.user ?? 'nothing'}` : 'no identd query';
      differences.push(`${p.host} identd: predicted ${show(p.identd)}, observed ${show(o.identd)}`);
    }
    if (p.route && o.route && p.route.action !== o.route.action) {
      differences.push(`${p.host} route: predicted ${p.route.action}, observed ${o.route.action}`);
    }
  }
  // A prediction that says it cannot tell (timing under link faults) is not held against the run.
  return {
    reply: prediction.reply,
    path: prediction.path,
    reasoning: prediction.reasoning,
    agreed: differences.length === 0 || prediction.undecided !== undefined,
    differences,
    ...(prediction.undecided ? { undecided: prediction.undecided } : {}),
  };
}
