import { ConfigsInPlace } from './config-undo.ts';
import type { ScenarioCase, ScenarioStep } from './model.ts';
import type { CaseResult } from './result.ts';
import { applyStep, type RunnerOptions, runCase } from './runner.ts';

/**
 * Runs a suite's cases on one lab, several at a time (`run --jobs N`), with the results exactly
 * those of running them one after the other:
 * - a case whose steps change the lab (every step but `wait`: stop/start, identd, a replaced
 *   config, a cut, and any step kind added later) is a barrier: the cases before it finish, it
 *   runs alone, and only then do later cases start — so every case sees the lab in the state the
 *   serial order gives it, and the predictor and the configs in place follow the same steps;
 * - the other cases only send requests, and run up to `jobs` at a time; each one's trace is built
 *   from its own chain of sessions (runtime/request-events.ts), never from "the events since it began";
 * - results come back in suite order, whatever order they finished in.
 *
 * With `selected`, only some positions run (`--shard`): a case of another shard whose steps
 * change the lab is fast-forwarded — its steps, cleanup and put-backs are applied, without its
 * request — so this shard's cases see the lab as the whole suite would have left it.
 */

export interface ScheduleOptions extends RunnerOptions {
  /** How many request-only cases may run at once (1 = one after the other). */
  readonly jobs: number;
  /** Which positions of `cases` to run (default: all). */
  readonly selected?: (position: number) => boolean;
}

/** Whether a case changes the lab for the cases after or beside it (then it runs alone). */
export function changesLab(c: ScenarioCase): boolean {
  return [...c.steps, ...c.cleanup].some((s) => !harmless(s));
}

/** A step that leaves the lab as it was. Unknown kinds are not harmless: a new fault step serialises. */
function harmless(step: ScenarioStep): boolean {
  return step.kind === 'wait';
}

/** Applies what a case of another shard leaves behind: its steps, cleanup and put-backs, no request. */
async function fastForward(options: RunnerOptions, configs: ConfigsInPlace, c: ScenarioCase): Promise<void> {
  const undo = configs.undoFor(c);
  for (const step of [...c.steps, ...c.cleanup, ...undo]) {
    if (step.kind === 'wait') continue;
    // A step that fails here fails in the shard that owns the case too, which reports it.
    await applyStep(options.lab, step, 'fast-forward');
    options.predictor?.apply(step);
    configs.follow(step);
  }
}

export async function runScheduled(options: ScheduleOptions): Promise<CaseResult[]> {
  const jobs = Math.max(1, Math.floor(options.jobs));
  const configs = options.configs ?? new ConfigsInPlace(options.lab.topology);
  const selected = options.selected ?? (() => true);
  const results = new Map<number, CaseResult>();
  const inFlight = new Set<Promise<void>>();
  const run = async (c: ScenarioCase, index: number, overlapping: boolean) => {
    options.hooks?.onCaseStart?.(c, index);
    const result = await runCase({ ...options, configs, overlapping }, c);
    results.set(index, result);
    options.hooks?.onCaseEnd?.(result, index);
  };
  const drain = async () => {
    await Promise.all(inFlight);
  };
  for (const [index, c] of options.cases.entries()) {
    const alone = changesLab(c);
    if (!selected(index)) {
      if (alone) {
        await drain();
        await fastForward(options, configs, c);
      }
      continue;
    }
    if (alone || jobs === 1) {
      await drain();
      await run(c, index, false);
      continue;
    }
    while (inFlight.size >= jobs) await Promise.race(inFlight);
    const p: Promise<void> = run(c, index, true).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await drain();
  return [...results.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r);
}
