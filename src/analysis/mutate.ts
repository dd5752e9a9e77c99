import type { Failure } from '../scenario/expect.ts';
import type { CaseExpectations, ScenarioCase } from '../scenario/model.ts';
import type { ResolvedTopology } from '../topology/model.ts';
import type { ParsedHostConfigs } from '../topology/resolve.ts';
import { predictionContradictions } from './check.ts';
import type { Design, Mutant } from './mutants.ts';
import { type Prediction, predictRequest } from './predict.ts';
import { expectationPieces, mergeExpectations, type Witness, witnessCase } from './witness-case.ts';
import { LabWorld } from './world.ts';

/**
 * Judging config mutants by prediction: a mutant is killed when a case of the suite that holds
 * on the design fails on the mutant (the same predictor and expectation checker as
 * `sockslab check`). A mutant the suite misses is held against witness requests, one per request
 * class: the first whose outcome differs becomes the suggested case; when none differs, no
 * request distinguishes the mutant and it is equivalent.
 */

/** Candidate requests for telling a mutant apart (the request classes of design and mutant). */
export type WitnessSource = (
  design: Design,
  mutant: Mutant,
) => readonly Witness[] | Promise<readonly Witness[]>;

/** A case that tells the mutant apart, with expectations for the original design. */
export interface SuggestedCase {
  readonly witness: Witness;
  readonly case: ScenarioCase;
  /** What the mutant gives instead (the failures of `case` on the mutant). */
  readonly differences: readonly Failure[];
  /**
   * The first case of the suite whose steps write the mutated file anew (a reload with fixed
   * text): from there on the mutation is gone, so the suggested case must come before it.
   */
  readonly before?: string;
  readonly original: Prediction;
  readonly mutated: Prediction;
}

export type Verdict =
  | {
      readonly status: 'killed';
      readonly mutant: Mutant;
      readonly by: {
        readonly case: string;
        readonly scenario: string;
        readonly failures: readonly Failure[];
      };
    }
  /** `suggested` is absent only when no witness source was given. */
  | { readonly status: 'survived'; readonly mutant: Mutant; readonly suggested?: SuggestedCase }
  | { readonly status: 'equivalent'; readonly mutant: Mutant; readonly witnesses: number };

export interface MutationScore {
  readonly total: number;
  readonly killed: number;
  readonly survived: number;
  readonly equivalent: number;
  /** killed / (killed + survived), in percent; 100 when nothing could be killed. */
  readonly percent: number;
}

export interface MutationRun {
  readonly topology: string;
  readonly cases: number;
  /** Cases that already fail on the design: they kill nothing and are reported instead. */
  readonly brokenCases: readonly { readonly case: string; readonly failures: readonly Failure[] }[];
  readonly verdicts: readonly Verdict[];
  readonly score: MutationScore;
  /** Whether survivors were held against request classes (equivalence decided). */
  readonly witnessed: boolean;
}

function configsWith(design: Design, mutant: Mutant): Map<string, ParsedHostConfigs> {
  const configs = new Map(design.configs);
  configs.set(mutant.host, mutant.configs);
  return configs;
}

/** Which cases hold on the design, in suite order (steps followed as the runner does). */
async function suiteBaseline(design: Design, cases: readonly ScenarioCase[]): Promise<Failure[][]> {
  const world = new LabWorld(design.topology, design.configs);
  const out: Failure[][] = [];
  for (const c of cases) {
    for (const s of c.steps) world.apply(s);
    out.push(predictionContradictions(c, await predictRequest(world, c.request), design.topology));
    for (const s of c.cleanup) world.apply(s);
  }
  return out;
}

async function firstKill(
  topology: ResolvedTopology,
  configs: ReadonlyMap<string, ParsedHostConfigs>,
  cases: readonly ScenarioCase[],
  holds: readonly boolean[],
): Promise<{ c: ScenarioCase; failures: Failure[] } | undefined> {
  const world = new LabWorld(topology, configs);
  for (const [i, c] of cases.entries()) {
    for (const s of c.steps) world.apply(s);
    if (holds[i]) {
      const failures = predictionContradictions(c, await predictRequest(world, c.request), topology);
      if (failures.length > 0) return { c, failures };
    }
    for (const s of c.cleanup) world.apply(s);
  }
  return undefined;
}

/** Hosts whose configs a prediction consulted: nothing else can change it. */
function consulted(p: Prediction, origin: string): Set<string> {
  return new Set([origin, ...p.path, ...p.hops.map((h) => h.host)]);
}

/**
 * The mutant's prediction with the mutated file's cites put back on the original lines, so a
 * swap is compared rule for rule rather than by position.
 */
function onOriginalLines(p: Prediction, mutant: Mutant, origin: string): Prediction {
  if (mutant.lineMap.size === 0) return p;
  const map = (line: number | null) => (line === null ? null : (mutant.lineMap.get(line) ?? line));
  return {
    ...p,
    ...(p.clientRoute && mutant.slot === 'probeClient' && origin === mutant.host
      ? { clientRoute: { ...p.clientRoute, line: map(p.clientRoute.line) } }
      : {}),
    hops: p.hops.map((h) => {
      if (h.host !== mutant.host) return h;
      if (mutant.slot === 'server') return { ...h, decision: { ...h.decision, line: map(h.decision.line) } };
      if (mutant.slot === 'client' && h.route)
        return { ...h, route: { ...h.route, line: map(h.route.line) } };
      return h;
    }),
  };
}

/** Predicts witnesses in one world per config set, each in the state its own steps make. */
class WitnessPredictor {
  private readonly world: LabWorld;
  constructor(topology: ResolvedTopology, configs: ReadonlyMap<string, ParsedHostConfigs>) {
    this.world = new LabWorld(topology, configs);
  }
  async predict(w: Witness): Promise<Prediction> {
    for (const s of w.steps) this.world.apply(s);
    try {
      return await predictRequest(this.world, w.request);
    } finally {
      for (const s of w.cleanup) this.world.apply(s);
    }
  }
}

const witnessKey = (w: Witness) => JSON.stringify([w.request, w.steps]);

/**
 * Fault variants a mutant of the identd mode needs: ?=I and ?=i differ only when identd is
 * unavailable, so each witness that meets the mutated host is also tried with identd down on the
 * host that server would ask.
 */
function identdVariants(
  witnesses: readonly Witness[],
  original: (w: Witness) => Prediction | undefined,
  design: Design,
  mutant: Mutant,
): Witness[] {
  if (mutant.operator !== 'identd') return [];
  const out: Witness[] = [];
  for (const w of witnesses) {
    const hop = original(w)?.hops.find((h) => h.host === mutant.host);
    const asked = hop ? design.topology.hosts.find((h) => h.name === hop.from) : undefined;
    if (!asked?.identd || asked.identd.behaviour.kind === 'down') continue;
    out.push({
      request: w.request,
      steps: [...w.steps, { kind: 'identd', host: asked.name, behaviour: { kind: 'down' } }],
      cleanup: [{ kind: 'identd', host: asked.name, behaviour: asked.identd.behaviour }, ...w.cleanup],
      label: `${w.label}, identd on ${asked.name} down`,
    });
  }
  return out;
}

function suggestedCase(
  design: Design,
  mutant: Mutant,
  w: Witness,
  original: Prediction,
  mutated: Prediction,
  relabelled: Prediction,
): SuggestedCase | undefined {
  const topology = design.topology;
  const probe = witnessCase(w, w.label);
  const pieces = expectationPieces(original, w.request);
  const breaks = (p: Prediction) => (e: CaseExpectations) =>
    predictionContradictions(probe, p, topology, e).length > 0;
  const semantic = pieces.filter(breaks(relabelled));
  if (semantic.length === 0) return undefined;
  // Prefer what the mutated file really shows too (a swap moves cites); reply and path for reading.
  const shown = semantic.filter(breaks(mutated));
  const kept = [
    pieces[0]!,
    pieces[1]!,
    ...(shown.length > 0 ? shown : semantic).filter((p) => p !== pieces[0] && p !== pieces[1]),
  ];
  const expect = mergeExpectations(kept);
  const name = `${w.label} (tells ${mutant.id} apart)`;
  const c = witnessCase(w, name, expect);
  return {
    witness: w,
    case: c,
    differences: predictionContradictions(c, mutated, topology),
    original,
    mutated,
  };
}

/** Does a step of this case write the file the mutant edits (as LabWorld.apply reads the step)? */
function rewrites(c: ScenarioCase, design: Design, mutant: Mutant): boolean {
  const hasServer = design.topology.hosts.some((h) => h.name === mutant.host && h.server);
  return [...c.steps, ...c.cleanup].some((s) => {
    if (s.kind !== 'replaceConfig' || s.host !== mutant.host) return false;
    const slot =
      s.file === 'sockd.conf'
        ? 'server'
        : s.file === 'sockd.route'
          ? 'route'
          : hasServer
            ? 'client'
            : 'probeClient';
    return slot === mutant.slot;
  });
}

export interface JudgeOptions {
  readonly witnesses?: WitnessSource;
  /** Called after each mutant (progress on a terminal). */
  readonly onVerdict?: (v: Verdict, index: number, total: number) => void;
}

export async function judgeMutants(
  design: Design,
  cases: readonly ScenarioCase[],
  mutants: readonly Mutant[],
  options: JudgeOptions = {},
): Promise<MutationRun> {
  const baseline = await suiteBaseline(design, cases);
  const holds = baseline.map((f) => f.length === 0);
  const originalWorld = new WitnessPredictor(design.topology, design.configs);
  const originals = new Map<string, Prediction>();
  const predictOriginal = async (w: Witness) => {
    const key = witnessKey(w);
    let p = originals.get(key);
    if (!p) {
      p = await originalWorld.predict(w);
      originals.set(key, p);
    }
    return p;
  };
  const verdicts: Verdict[] = [];
  for (const [index, mutant] of mutants.entries()) {
    const configs = configsWith(design, mutant);
    const kill = await firstKill(design.topology, configs, cases, holds);
    let verdict: Verdict;
    if (kill) {
      verdict = {
        status: 'killed',
        mutant,
        by: { case: kill.c.name, scenario: kill.c.scenario, failures: kill.failures },
      };
    } else if (!options.witnesses) {
      verdict = { status: 'survived', mutant };
    } else {
      verdict = await distinguish(design, mutant, configs, options.witnesses, predictOriginal);
      const before = cases.find((c) => rewrites(c, design, mutant));
      if (verdict.status === 'survived' && verdict.suggested && before)
        verdict = { ...verdict, suggested: { ...verdict.suggested, before: before.name } };
    }
    verdicts.push(verdict);
    options.onVerdict?.(verdict, index, mutants.length);
  }
  const killed = verdicts.filter((v) => v.status === 'killed').length;
  const survived = verdicts.filter((v) => v.status === 'survived').length;
  return {
    topology: design.topology.name,
    cases: cases.length,
    brokenCases: cases.flatMap((c, i) => (holds[i] ? [] : [{ case: c.name, failures: baseline[i]! }])),
    verdicts,
    score: {
      total: verdicts.length,
      killed,
      survived,
      equivalent: verdicts.length - killed - survived,
      percent: killed + survived === 0 ? 100 : (100 * killed) / (killed + survived),
    },
    witnessed: options.witnesses !== undefined,
  };
}

async function distinguish(
  design: Design,
  mutant: Mutant,
  configs: ReadonlyMap<string, ParsedHostConfigs>,
  source: WitnessSource,
  predictOriginal: (w: Witness) => Promise<Prediction>,
): Promise<Verdict> {
  const base = await source(design, mutant);
  const known = new Map<string, Prediction>();
  for (const w of base) known.set(witnessKey(w), await predictOriginal(w));
  const candidates = [...base, ...identdVariants(base, (w) => known.get(witnessKey(w)), design, mutant)];
  const mutantWorld = new WitnessPredictor(design.topology, configs);
  let tried = 0;
  for (const w of candidates) {
    const original = await predictOriginal(w);
    // Only a request that meets the mutated host can see the mutation.
    if (!consulted(original, w.request.from).has(mutant.host)) continue;
    tried++;
    const mutated = await mutantWorld.predict(w);
    const relabelled = onOriginalLines(mutated, mutant, w.request.from);
    const suggested = suggestedCase(design, mutant, w, original, mutated, relabelled);
    if (suggested) return { status: 'survived', mutant, suggested };
  }
  return { status: 'equivalent', mutant, witnesses: tried };
}
