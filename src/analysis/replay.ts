import type { Lab, ProbeRequest, Runtime } from '../runtime/runtime.ts';
import { describeReply } from '../scenario/replies.ts';
import { runCase } from '../scenario/runner.ts';
import { ScenarioTimeouts } from '../scenario/timeouts.ts';
import type { ResolvedTopology } from '../topology/model.ts';
import { comparePrediction } from './agreement.ts';
import type { Design } from './design-hosts.ts';
import type { ClassChange, DesignDiff, ObservedSide } from './diff.ts';
import { predictRequest } from './predict.ts';
import { requestCase } from './witness-case.ts';
import { LabWorld } from './world.ts';

/**
 * `sockslab diff --confirm`: bring both designs up on a runtime, one after the other, replay every
 * changed class's witness on each, and compare each run with its design's prediction. A change is
 * confirmed when both runs did what was predicted. Labs go through the runtime's normal
 * lifecycle (`up`, then `down` in a finally), so nothing is left behind, even on a failure.
 */

const ReplayCaseTimeoutMs = 10_000;

/** Replays requests on one started lab; each run against its prediction in `world`. */
async function replayOn(
  lab: Lab,
  world: LabWorld,
  requests: readonly ProbeRequest[],
  file: string,
): Promise<ObservedSide[]> {
  const out: ObservedSide[] = [];
  for (const [i, request] of requests.entries()) {
    const prediction = await predictRequest(world, request);
    const result = await runCase(
      {
        lab,
        predictor: {
          apply: () => undefined,
          check: async (_c, trace) => comparePrediction(prediction, trace),
        },
      },
      requestCase({
        name: `witness ${i + 1}`,
        file,
        request: { ...request, timeoutMs: ReplayCaseTimeoutMs },
        timeoutMs: ReplayCaseTimeoutMs,
      }),
    );
    out.push({
      reply: describeReply(result.outcome.reply, request.protocol),
      path: result.trace.path,
      differences: result.prediction?.differences ?? ['no prediction'],
    });
  }
  return out;
}

async function withLab<T>(
  runtime: Runtime,
  topology: ResolvedTopology,
  use: (lab: Lab) => Promise<T>,
): Promise<T> {
  const lab = await runtime.up(topology, { timeouts: ScenarioTimeouts });
  try {
    return await use(lab);
  } finally {
    await lab.down();
  }
}

/** A design brought up on `runtime`, the requests replayed on it against its predictions, and taken down. */
function replayDesign(
  runtime: Runtime,
  design: Design,
  requests: readonly ProbeRequest[],
): Promise<ObservedSide[]> {
  const world = new LabWorld(design.topology, design.configs);
  return withLab(runtime, design.topology, (lab) => replayOn(lab, world, requests, design.label));
}

/** The diff with every change's `confirmation` filled in from live runs on `runtime`. */
export async function confirmDiff(
  diff: DesignDiff,
  before: Design,
  after: Design,
  runtime: Runtime,
): Promise<DesignDiff> {
  if (diff.changes.length === 0) return diff;
  // One design after the other: never two labs up at once.
  const a = await replayDesign(
    runtime,
    before,
    diff.changes.map((c) => c.witness),
  );
  const b = await replayDesign(
    runtime,
    after,
    diff.changes.map((c) => c.witnessAfter),
  );
  const changes: ClassChange[] = diff.changes.map((c, i) => {
    const x = a[i]!;
    const y = b[i]!;
    return {
      ...c,
      confirmation: {
        runtime: runtime.name,
        confirmed: x.differences.length === 0 && y.differences.length === 0,
        before: x,
        after: y,
      },
    };
  });
  return { ...diff, changes };
}
