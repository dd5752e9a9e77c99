import type { LabTimeouts, Runtime } from '../runtime/runtime.ts';
import type { Failure } from '../scenario/expect.ts';
import { runCase } from '../scenario/runner.ts';
import { type Design, type Mutant, mutantTopology } from './mutants.ts';
import type { SuggestedCase, Verdict } from './mutate.ts';

/**
 * `sockslab mutate --confirm`: the suggested cases replayed live. The design is brought up once
 * and every suggested case run on it (each must pass: it was written from the design's
 * prediction); then each mutant's design is brought up through the same lifecycle, its case run
 * and the lab taken down again. A survivor is confirmed when the case passes on the design and
 * fails on the mutant with the very differences the prediction named.
 */

export interface ConfirmResult {
  readonly mutant: string;
  readonly runtime: string;
  readonly confirmed: boolean;
  /** Why not, when not confirmed. */
  readonly reason?: string;
  /** Failures of the case on the design's lab (none expected). */
  readonly design: readonly Failure[];
  /** Failures of the case on the mutant's lab (the predicted differences expected). */
  readonly mutated: readonly Failure[];
}

export interface ConfirmOptions {
  readonly timeouts?: LabTimeouts;
  /** Labels every lab this run starts, so leftovers can be reaped by id. */
  readonly runId: string;
  readonly onResult?: (r: ConfirmResult) => void;
}

interface Replay {
  readonly mutant: Mutant;
  readonly suggested: SuggestedCase;
}

function verdictOf(
  replay: Replay,
  runtime: string,
  design: readonly Failure[],
  mutated: readonly Failure[],
): ConfirmResult {
  const base = { mutant: replay.mutant.id, runtime, design, mutated };
  const whats = (fs: readonly Failure[]) => [...new Set(fs.map((f) => f.what))].sort();
  const predicted = whats(replay.suggested.differences);
  const observed = whats(mutated);
  if (design.length > 0)
    return {
      ...base,
      confirmed: false,
      reason: `the case fails on the design too (${design.map((f) => `${f.what}: ${f.actual}`).join('; ')})`,
    };
  if (mutated.length === 0)
    return {
      ...base,
      confirmed: false,
      reason: "the case passes on the mutant's lab: no difference observed",
    };
  if (predicted.join('\n') !== observed.join('\n'))
    return {
      ...base,
      confirmed: false,
      reason: `the mutant differs in ${observed.join(', ')}; predicted ${predicted.join(', ')}`,
    };
  return { ...base, confirmed: true };
}

export async function confirmSurvivors(
  design: Design,
  verdicts: readonly Verdict[],
  runtime: Runtime,
  options: ConfirmOptions,
): Promise<ConfirmResult[]> {
  const results: ConfirmResult[] = [];
  const replays: Replay[] = [];
  for (const v of verdicts) {
    if (v.status !== 'survived' || !v.suggested) continue;
    if (v.suggested.witness.request.claim !== undefined) {
      const r: ConfirmResult = {
        mutant: v.mutant.id,
        runtime: runtime.name,
        confirmed: false,
        reason: 'the witness forges its USERID, which the live probe cannot send',
        design: [],
        mutated: [],
      };
      results.push(r);
      options.onResult?.(r);
    } else replays.push({ mutant: v.mutant, suggested: v.suggested });
  }
  if (replays.length === 0) return results;
  const upOptions = { runId: options.runId, ...(options.timeouts ? { timeouts: options.timeouts } : {}) };
  const onDesign = new Map<string, readonly Failure[]>();
  const lab = await runtime.up(design.topology, upOptions);
  try {
    for (const r of replays) onDesign.set(r.mutant.id, (await runCase({ lab }, r.suggested.case)).failures);
  } finally {
    await lab.down();
  }
  for (const r of replays) {
    const mutantLab = await runtime.up(mutantTopology(design.topology, r.mutant), upOptions);
    let mutated: readonly Failure[];
    try {
      mutated = (await runCase({ lab: mutantLab }, r.suggested.case)).failures;
    } finally {
      await mutantLab.down();
    }
    const result = verdictOf(r, runtime.name, onDesign.get(r.mutant.id) ?? [], mutated);
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}
