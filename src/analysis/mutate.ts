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
export type WitnessSource = (design: Design, mutant: Mutant) => Iterable<Witness>;

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

/**
 * Can the mutation change this prediction? Only if the mutated file was read as far as the
 * mutated line: every line before it is the same in both, so a request decided by an earlier
 * line (or never meeting the file) is decided the same way by the mutant.
 */
function meetsMutation(p: Prediction, mutant: Mutant, request: Witness['request']): boolean {
  const reached = (line: number | null) => line === null || line >= mutant.line;
  switch (mutant.slot) {
    case 'probeClient':
      return request.from === mutant.host && p.clientRoute !== undefined && reached(p.clientRoute.line);
    case 'server':
      return p.hops.some((h) => h.host === mutant.host && reached(h.decision.line));
    case 'client':
      return p.hops.some((h) => h.host === mutant.host && h.route !== undefined && reached(h.route.line));
    case 'route':
      return request.command === 'bind' && p.hops.some((h) => h.host === mutant.host);
  }
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

/**
 * Everything of a prediction the expectation checker can look at, as one string: equal strings
 * mean no expectation tells the two predictions apart (the cheap test before building a case).
 */
function outcomeSignature(p: Prediction): string {
  return JSON.stringify([
    p.reply,
    p.secondReply,
    p.path,
    p.reached,
    p.clientRoute,
    p.hops.map((h) => [h.host, h.decision, h.identd, h.route, h.reply]),
  ]);
}

/** Identifies a witness by what predictRequest reads of it (cheaper than stringifying it all). */
export function witnessKey(w: Witness): string {
  const r = w.request;
  const head = `${r.from}|${r.user}|${r.claim ?? ''}|${r.protocol}|${r.command}|${r.target.host}:${r.target.port}|${r.via ?? ''}|${r.useSocksConf ?? ''}`;
  const tail =
    r.credentials || r.bindPeer || w.steps.length > 0
      ? JSON.stringify([r.credentials, r.bindPeer, w.steps])
      : '';
  return head + tail;
}

interface Known {
  readonly prediction: Prediction;
  readonly signature: string;
}

/** The design's predictions of witnesses, made once: by object, else by request and steps. */
class DesignPredictions {
  private readonly byObject = new WeakMap<Witness, Known>();
  private readonly byKey = new Map<string, Known>();
  private readonly world: WitnessPredictor;
  constructor(design: Design) {
    this.world = new WitnessPredictor(design.topology, design.configs);
  }
  async get(w: Witness): Promise<Known> {
    let known = this.byObject.get(w);
    if (known) return known;
    const key = witnessKey(w);
    known = this.byKey.get(key);
    if (!known) {
      const prediction = await this.world.predict(w);
      known = { prediction, signature: outcomeSignature(prediction) };
      this.byKey.set(key, known);
    }
    this.byObject.set(w, known);
    return known;
  }
}

/**
 * Fault variants a mutant of the identd mode needs: ?=I and ?=i differ only when identd is
 * unavailable, so each witness that meets the mutated host is also tried with identd down on the
 * host that server would ask.
 */
async function identdVariants(
  witnesses: readonly Witness[],
  originals: DesignPredictions,
  design: Design,
  mutant: Mutant,
): Promise<Witness[]> {
  if (mutant.operator !== 'identd') return [];
  const out: Witness[] = [];
  for (const w of witnesses) {
    const hop = (await originals.get(w)).prediction.hops.find((h) => h.host === mutant.host);
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
  const originals = new DesignPredictions(design);
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
      verdict = await distinguish(design, mutant, configs, options.witnesses, originals);
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
  originals: DesignPredictions,
): Promise<Verdict> {
  let candidates: Iterable<Witness> = source(design, mutant);
  if (mutant.operator === 'identd') {
    const base = [...candidates];
    candidates = [...base, ...(await identdVariants(base, originals, design, mutant))];
  }
  const mutantWorld = new WitnessPredictor(design.topology, configs);
  let tried = 0;
  for (const w of candidates) {
    const { prediction: original, signature } = await originals.get(w);
    if (!meetsMutation(original, mutant, w.request)) continue;
    tried++;
    const mutated = await mutantWorld.predict(w);
    const relabelled = onOriginalLines(mutated, mutant, w.request.from);
    if (outcomeSignature(relabelled) === signature) continue;
    const suggested = suggestedCase(design, mutant, w, original, mutated, relabelled);
    if (suggested) return { status: 'survived', mutant, suggested };
  }
  return { status: 'equivalent', mutant, witnesses: tried };
}
