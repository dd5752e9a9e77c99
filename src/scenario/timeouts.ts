import type { LabTimeouts } from '../runtime/runtime.ts';

/**
 * Lab timers for scenario runs and live replays (`run`, `diff --confirm`, `mutate --confirm`):
 * short, so fault cases (silent identd, dead upstreams) take seconds instead of the spec's minutes.
 * `sockslab run --spec-timers` keeps the spec's own.
 */
export const ScenarioTimeouts: LabTimeouts = {
  identd: 1_500,
  upstreamConnect: 1_500,
  establish: 8_000,
  requestRead: 8_000,
  unreachable: 1_000,
  identdRead: 1_500,
};
