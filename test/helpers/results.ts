import type { LabEvent } from '../../src/common/events.ts';
import type { ProbeOutcome } from '../../src/runtime/runtime.ts';
import { checkExpectations } from '../../src/scenario/expect.ts';
import { parseScenarioText } from '../../src/scenario/load.ts';
import type { ScenarioCase } from '../../src/scenario/model.ts';
import { resolveScenario } from '../../src/scenario/resolve.ts';
import type { CaseResult } from '../../src/scenario/result.ts';
import { stitchTraces } from '../../src/scenario/stitch.ts';
import { seedCascade } from './seed-topology.ts';
import { ep } from './synthetic-events.ts';

/** Cases written in the scenario DSL against the seed cascade, for checker and report tests. */
export async function seedCases(yamlCases: string): Promise<ScenarioCase[]> {
  const text = `# yaml-language-server: $schema=scenario.schema.json\ntopology: seed-cascade\ncases:\n${yamlCases}`;
  return [...resolveScenario(parseScenarioText(text, 'scenarios/synthetic.yaml'), await seedCascade()).cases];
}

export function outcomeOf(
  reply: number | null,
  received = '',
  extra: Partial<ProbeOutcome> = {},
): ProbeOutcome {
  return {
    reply,
    protocol: 'socks4',
    local: ep('10.1.0.10', 40001),
    received,
    durationMs: 4,
    clientRoute: { action: 'sockd', line: 1 },
    ...extra,
  };
}

/** Runs the checker the way the runner does: stitch, check, verdict. */
export async function resultOf(
  c: ScenarioCase,
  events: readonly LabEvent[],
  outcome: ProbeOutcome,
): Promise<CaseResult> {
  const trace = stitchTraces(events, await seedCascade(), { request: c.request, outcome });
  const failures = checkExpectations(
    c.expect,
    { outcome, trace, ...(c.request.send !== undefined ? { sent: c.request.send } : {}) },
    c.protocol,
  );
  return { case: c, outcome, trace, failures, verdict: failures.length ? 'fail' : 'pass', durationMs: 12 };
}
