import { requestEvents } from '../runtime/request-events.ts';
import type { Lab, LabTimeouts, ProbeOutcome } from '../runtime/runtime.ts';
import { settleProbe } from '../runtime/settle.ts';
import { ConfigsInPlace } from './config-undo.ts';
import { checkElapsed } from './elapsed.ts';
import { checkExpectations, type Failure } from './expect.ts';
import { FaultsInPlace } from './faults-in-place.ts';
import type { ScenarioCase, ScenarioStep } from './model.ts';
import type { CaseResult, PredictionCheck } from './result.ts';
import { describeStep } from './step-text.ts';
import { stitchTraces } from './stitch.ts';
import type { Trace } from './trace.ts';

/**
 * The scenario runner: for each case, apply its fault steps to a started lab, issue its request,
 * let the hops finish reporting, stitch the trace, check the expectations and compare with the
 * static prediction. It talks only to the `Lab` interface, so it runs on every runtime.
 */

/** Static prediction, kept abstract so the runner does not depend on the analysis module. */
export interface CasePredictor {
  /** Follow a step the runner applies, so later predictions see the same world. */
  apply(step: ScenarioStep): void;
  /** Prediction for a case in the current world; compared with its trace. */
  check(c: ScenarioCase, trace: Trace): Promise<PredictionCheck | undefined>;
}

export interface RunnerHooks {
  onCaseStart?(c: ScenarioCase, index: number): void;
  onCaseEnd?(result: CaseResult, index: number): void;
}

export interface RunnerOptions {
  readonly lab: Lab;
  readonly cases: readonly ScenarioCase[];
  readonly predictor?: CasePredictor;
  readonly hooks?: RunnerHooks;
  /** Longest wait after the reply for the request's chain of events (default DefaultSettleMs). */
  readonly settleMs?: number;
  readonly now?: () => number;
  /**
   * The config texts in place, followed across cases so each case's replaced configs can be put
   * back. Pass one per lab to `runCase` called case by case (runCases makes its own).
   */
  readonly configs?: ConfigsInPlace;
  /** The link faults in force, followed across cases like `configs` (runCases makes its own). */
  readonly faults?: FaultsInPlace;
  /** The lab's timers, for `elapsed:` expectations (default: those the lab was started with). */
  readonly timers?: LabTimeouts;
  /**
   * Other cases may be running on the lab at the same time (`run --jobs`): a probe that never
   * connected cannot claim any server session as its own (see runtime/request-events.ts).
   */
  readonly overlapping?: boolean;
}

/**
 * The wait ends as soon as the request's events are complete (runtime/settle.ts), which on every
 * reference topology is well before this; the bound only matters on a loaded machine, where 500 ms
 * could cut a hop's close and fail a case that passed.
 */
const DefaultSettleMs = 2_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Applies one fault step; returns a failure when it threw or the reload did not do what the case said. */
export async function applyStep(
  lab: Lab,
  step: ScenarioStep,
  label: string,
  faults: FaultsInPlace = new FaultsInPlace(lab.topology.faults),
): Promise<Failure | undefined> {
  try {
    switch (step.kind) {
      case 'fault':
      case 'heal':
      case 'faults':
        if (!lab.setFaults) throw new Error(`the ${lab.runtime} runtime cannot apply link faults`);
        await lab.setFaults(faults.after(step));
        return undefined;
      case 'stop':
        await lab.stopHost(step.host);
        return undefined;
      case 'start':
        await lab.startHost(step.host);
        return undefined;
      case 'identd':
        await lab.setIdentd(step.host, step.behaviour);
        return undefined;
      case 'cut':
        await lab.cutNetwork(step.network);
        return undefined;
      case 'restore':
        await lab.restoreNetwork(step.network);
        return undefined;
      case 'wait':
        await sleep(step.ms);
        return undefined;
      case 'replaceConfig': {
        const result = await lab.replaceConfig(step.host, step.file, step.text);
        if (step.reloaded !== undefined && result.reloaded !== step.reloaded) {
          return {
            what: `${label}: ${describeStep(step)}`,
            expected: step.reloaded ? 'reloaded' : 'rejected, old rules kept',
            actual: result.reloaded ? 'reloaded' : `rejected: ${result.error ?? 'no reason given'}`,
          };
        }
        return undefined;
      }
    }
  } catch (err) {
    return {
      what: `${label}: ${describeStep(step)}`,
      expected: 'step succeeds',
      actual: (err as Error).message,
    };
  }
}

export async function runCase(options: Omit<RunnerOptions, 'cases'>, c: ScenarioCase): Promise<CaseResult> {
  const { lab, predictor } = options;
  const now = options.now ?? Date.now;
  const started = now();
  const failures: Failure[] = [];
  const from = lab.events().length;
  const configs = options.configs ?? new ConfigsInPlace(lab.topology);
  const faults = options.faults ?? new FaultsInPlace(lab.topology.faults);
  const undo = [...configs.undoFor(c), ...faults.undoFor(c)];
  const follow = async (step: ScenarioStep, label: string) => {
    const f = await applyStep(lab, step, label, faults);
    predictor?.apply(step);
    configs.follow(step);
    faults.follow(step);
    if (f) failures.push(f);
  };
  for (const [i, step] of c.steps.entries()) await follow(step, `step ${i + 1}`);
  let outcome: ProbeOutcome;
  try {
    outcome = await lab.probe({ ...c.request, timeoutMs: c.timeoutMs });
  } catch (err) {
    outcome = {
      reply: null,
      protocol: c.protocol,
      received: '',
      error: (err as Error).message,
      durationMs: now() - started,
    };
  }
  const overlapping = options.overlapping === true;
  const events = await settleProbe(() => lab.events().slice(from), lab.topology, outcome, {
    maxMs: options.settleMs ?? DefaultSettleMs,
    quietMs: 0,
    overlapping,
  });
  // The probe's own events: its chain of server sessions and every non-server event. Alone on the
  // lab and without a local endpoint, the stitcher may still guess the first hop from the window.
  const own = outcome.local || overlapping ? requestEvents(events, outcome) : events;
  const trace = stitchTraces(own, lab.topology, { request: c.request, outcome });
  failures.push(
    ...checkExpectations(
      c.expect,
      { outcome, trace, ...(c.request.send !== undefined ? { sent: c.request.send } : {}) },
      c.protocol,
    ),
    ...checkElapsed(c.expect.elapsed, outcome.durationMs, options.timers ?? lab.timeouts),
  );
  let prediction: PredictionCheck | undefined;
  try {
    prediction = await predictor?.check(c, trace);
  } catch (err) {
    prediction = {
      reply: null,
      path: [],
      reasoning: [],
      agreed: false,
      differences: [`no prediction: ${(err as Error).message}`],
    };
  }
  for (const [i, step] of c.cleanup.entries()) await follow(step, `cleanup ${i + 1}`);
  // Configs the steps replaced and link faults they set go back as they were before the case
  // (unless it says keep: true).
  for (const [i, step] of undo.entries()) await follow(step, `putting back ${i + 1}`);
  return {
    case: c,
    outcome,
    trace,
    failures,
    verdict: failures.length === 0 ? 'pass' : 'fail',
    durationMs: now() - started,
    ...(prediction ? { prediction } : {}),
  };
}

/** Runs cases in order (steps of one case are visible to the next, as in a real maintenance window). */
export async function runCases(options: RunnerOptions): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const configs = options.configs ?? new ConfigsInPlace(options.lab.topology);
  const faults = options.faults ?? new FaultsInPlace(options.lab.topology.faults);
  for (const [index, c] of options.cases.entries()) {
    options.hooks?.onCaseStart?.(c, index);
    const result = await runCase({ ...options, configs, faults }, c);
    results.push(result);
    options.hooks?.onCaseEnd?.(result, index);
  }
  return results;
}
