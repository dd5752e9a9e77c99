/**
 * Which link faults are in force, followed step by step: the topology's standing `faults:`,
 * plus what `fault:` steps add, minus what `heal:` takes out. Labs are told the whole set each
 * time (Lab.setFaults), so a runtime only ever reconciles to a list. As with configs
 * (config-undo.ts), a case's faults are taken out again after it — back to the set before the
 * case — unless it says `keep: true`; the runner and the predictor apply the same put-back step.
 */
import type { LinkFault } from '../topology/link-faults.ts';
import type { ScenarioCase, ScenarioStep } from './model.ts';

type FaultStep = Extract<ScenarioStep, { kind: 'fault' | 'heal' | 'faults' }>;

export function isFaultStep(step: ScenarioStep): step is FaultStep {
  return step.kind === 'fault' || step.kind === 'heal' || step.kind === 'faults';
}

/**
 * Whether a case changes link faults: a scheduler running cases in parallel must run such cases
 * alone (they change the kernel's or the virtual network's state for every case of the lab).
 */
export function usesLinkFaults(c: ScenarioCase): boolean {
  return [...c.steps, ...c.cleanup].some(isFaultStep);
}

/** The set in force after `step` (pure). */
export function faultsAfter(current: readonly LinkFault[], step: FaultStep): readonly LinkFault[] {
  switch (step.kind) {
    case 'fault':
      return current.some((f) => f.id === step.fault.id) ? current : [...current, step.fault];
    case 'heal':
      return current.filter(
        (f) =>
          !(
            step.host === undefined ||
            (f.host === step.host && (step.network === undefined || f.network === step.network))
          ),
      );
    case 'faults':
      return step.faults;
  }
}

export class FaultsInPlace {
  private inForce: readonly LinkFault[];

  constructor(standing: readonly LinkFault[] = []) {
    this.inForce = standing;
  }

  current(): readonly LinkFault[] {
    return this.inForce;
  }

  /** The set a step would leave (the step not yet followed). */
  after(step: FaultStep): readonly LinkFault[] {
    return faultsAfter(this.inForce, step);
  }

  follow(step: ScenarioStep): void {
    if (isFaultStep(step)) this.inForce = faultsAfter(this.inForce, step);
  }

  /** Before case `c` runs: the step that puts the faults back as they are now (none with keep: true or no fault steps). */
  undoFor(c: ScenarioCase): ScenarioStep[] {
    if (c.keep || !usesLinkFaults(c)) return [];
    return [{ kind: 'faults', faults: this.inForce }];
  }
}
