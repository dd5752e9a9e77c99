import type { ScenarioStep } from './model.ts';

/** A fault step in a few words, for failures, reports and task titles. */
export function describeStep(s: ScenarioStep): string {
  switch (s.kind) {
    case 'stop':
    case 'start':
      return `${s.kind} ${s.host}`;
    case 'identd': {
      const b = s.behaviour;
      const detail = b.kind === 'lying' ? ` (${b.user})` : b.kind === 'error' ? ` (${b.error})` : '';
      return `identd on ${s.host} → ${b.kind}${detail}`;
    }
    case 'replaceConfig':
      return `replace ${s.file} on ${s.host}`;
    case 'cut':
    case 'restore':
      return `${s.kind} ${s.network}`;
    case 'wait':
      return `wait ${s.ms} ms`;
    case 'fault':
      return s.fault.id;
    case 'heal':
      return s.host === undefined
        ? 'heal every link fault'
        : `heal link faults on ${s.host}${s.network ? `@${s.network}` : ''}`;
    case 'faults':
      return s.faults.length === 0
        ? 'no link faults'
        : `link faults: ${s.faults.map((f) => f.id).join('; ')}`;
  }
}
