import type { ProbeOutcome } from '../runtime/runtime.ts';
import type { Failure } from './expect.ts';
import type { ScenarioCase } from './model.ts';
import type { Trace } from './trace.ts';

/** What the static analysis predicted for a case, and whether the run agreed. */
export interface PredictionCheck {
  readonly reply: number | null;
  readonly path: readonly string[];
  /** Short reason chain of the prediction, e.g. `B: permit sockd.conf:3`. */
  readonly reasoning: readonly string[];
  readonly agreed: boolean;
  /** Each point where the run differed from the prediction (a finding about the network). */
  readonly differences: readonly string[];
  /** Why the prediction could not decide (timing under link faults); then it is not compared. */
  readonly undecided?: readonly string[];
}

/** One case after it ran: its outcome, its trace and its verdict. */
export interface CaseResult {
  readonly case: ScenarioCase;
  readonly outcome: ProbeOutcome;
  readonly trace: Trace;
  /** Expectation mismatches plus step failures (a step that threw, a reload that did not go as expected). */
  readonly failures: readonly Failure[];
  readonly verdict: 'pass' | 'fail';
  readonly durationMs: number;
  readonly prediction?: PredictionCheck;
}
