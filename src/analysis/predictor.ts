import type { LabTimeouts } from '../runtime/runtime.ts';
import type { ScenarioCase, ScenarioStep } from '../scenario/model.ts';
import type { PredictionCheck } from '../scenario/result.ts';
import type { Trace } from '../scenario/trace.ts';
import { type ParsedHostConfigs, type ResolvedTopology, topologyConfigs } from '../topology/model.ts';
import { comparePrediction } from './agreement.ts';
import { predictRequest } from './predict.ts';
import { LabWorld } from './world.ts';

/**
 * The runner's predictor: a LabWorld that follows the same fault steps the runner applies, and
 * predicts each case just before comparing it with the case's trace.
 */
export interface Predictor {
  apply(step: ScenarioStep): void;
  check(c: ScenarioCase, trace: Trace): Promise<PredictionCheck>;
}

/** `configs` defaults to the topology's own parsed configs. */
export function createPredictor(
  topology: ResolvedTopology,
  configs: ReadonlyMap<string, ParsedHostConfigs> = topologyConfigs(topology),
  timers?: LabTimeouts,
): Predictor {
  const world = new LabWorld(topology, configs, timers);
  return {
    apply: (step) => world.apply(step),
    check: async (c, trace) => comparePrediction(await predictRequest(world, c.request), trace),
  };
}
