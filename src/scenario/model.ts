import type { SourcePos } from '../config/ast.ts';
import type { ProbeProtocol, ProbeRequest } from '../runtime/runtime.ts';
import type { LinkFault } from '../topology/link-faults.ts';
import type { IdentdBehaviour, ParsedConfigText } from '../topology/model.ts';

/**
 * A scenario after loading, validation against the topology and matrix expansion: every case is
 * one request with its steps and normalised expectations. The runner, analysis and reports read
 * this, never the raw YAML.
 */

/** Where a scenario field was written: the same file:line:column as a config field's. */
export type SourceRef = SourcePos;

export type ScenarioStep =
  | { readonly kind: 'stop'; readonly host: string }
  | { readonly kind: 'start'; readonly host: string }
  | { readonly kind: 'identd'; readonly host: string; readonly behaviour: IdentdBehaviour }
  | {
      readonly kind: 'replaceConfig';
      readonly host: string;
      readonly file: 'sockd.conf' | 'socks.conf' | 'sockd.route';
      /** The new text, as runtimes write it (the same as `config.text`). */
      readonly text: string;
      /**
       * The text parsed once, at scenario resolution, with its place in the scenario file. An
       * invalid text is a legal step (the server rejects it and keeps its rules): its error stays here.
       */
      readonly config: ParsedConfigText;
      readonly reloaded?: boolean;
    }
  | { readonly kind: 'cut'; readonly network: string }
  | { readonly kind: 'restore'; readonly network: string }
  | { readonly kind: 'wait'; readonly ms: number }
  /** A link fault goes in (scenario `fault:`). */
  | { readonly kind: 'fault'; readonly fault: LinkFault }
  /** Link faults come out: all of them, or those on one host (and network). */
  | { readonly kind: 'heal'; readonly host?: string; readonly network?: string }
  /** The whole set of link faults in force becomes `faults` (what the runner puts back after a case). */
  | { readonly kind: 'faults'; readonly faults: readonly LinkFault[] };

/** A bound on when the probe's answer came, in ms from its start, as written (`2*upstreamConnect`). */
export interface ElapsedBound {
  readonly text: string;
  /** Lab timer multiples and a fixed part: value = fixedMs + sum(times × timer). */
  readonly timers: readonly { readonly timer: TimerName; readonly times: number }[];
  readonly fixedMs: number;
}

export type TimerName = 'identd' | 'upstreamConnect' | 'establish' | 'requestRead';

/** A substring or regular expression to look for, optionally only on one host. */
export interface TextMatcher {
  readonly host?: string;
  readonly contains?: string;
  /** Source of a RegExp (flags separately). */
  readonly regex?: { readonly source: string; readonly flags: string };
  /** As written, for messages. */
  readonly text: string;
}

export interface RuleExpectation {
  readonly host: string;
  readonly file?: string;
  readonly line?: number;
  readonly action?: 'permit' | 'deny';
  readonly reason?: string;
}

export interface IdentdExpectation {
  readonly host: string;
  /** true: this hop must not have asked identd at all. */
  readonly none?: boolean;
  /** The USERID the hop received (the claim, forged or not), whatever identd said. */
  readonly claimed?: string;
  readonly queried?: string;
  readonly answer?: string | null;
  readonly user?: string | null;
  readonly verdict?: 'confirmed' | 'mismatch' | 'unavailable';
}

export interface RouteExpectation {
  readonly host: string;
  readonly action?: 'deny' | 'direct' | 'sockd';
  readonly server?: string;
  readonly file?: string;
  readonly line?: number;
  readonly attempts?: number | readonly { readonly server: string; readonly ok: boolean }[];
}

/** Per-hop expectations beyond rule, identd and route (see scenarios/README.md, `hops:`). */
export interface HopExpectation {
  readonly host: string;
  readonly received?: 'name' | 'address';
  readonly name?: string;
  readonly address?: string | null;
  readonly resolvedBy?: string | null;
  readonly claimed?: string;
  readonly realUser?: string;
  /** Resolved code; null = none. */
  readonly secondReply?: number | null;
  readonly bound?: string;
  readonly sockdRoute?: {
    readonly line?: number | null;
    readonly text?: string;
    readonly address?: string | null;
  };
}

export interface CaseExpectations {
  /** Resolved code; null = no reply at all. */
  readonly reply?: number | null;
  readonly secondReply?: number | null;
  readonly path?: readonly string[];
  readonly rules: readonly RuleExpectation[];
  readonly identd: readonly IdentdExpectation[];
  readonly routes: readonly RouteExpectation[];
  /** Absent in expectations made before per-hop keys existed (same as none). */
  readonly hops?: readonly HopExpectation[];
  readonly clientRoute?: { readonly action: 'deny' | 'direct' | 'sockd'; readonly line?: number };
  readonly logs: readonly TextMatcher[];
  readonly noLogs: readonly TextMatcher[];
  readonly commands: readonly TextMatcher[];
  readonly received?: string;
  readonly echo?: boolean;
  readonly reached?: boolean;
  readonly elapsed?: { readonly after?: ElapsedBound; readonly before?: ElapsedBound };
}

export interface ScenarioCase {
  /** Unique within its scenario file; matrix cases get `name [user=x, port=7]`. */
  readonly name: string;
  /** Scenario file (relative to the scenarios directory's parent when known). */
  readonly scenario: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly protocol: ProbeProtocol;
  readonly request: ProbeRequest;
  readonly steps: readonly ScenarioStep[];
  readonly cleanup: readonly ScenarioStep[];
  /** Leave the configs the steps replaced in place for the next cases (default: put back after the case). */
  readonly keep: boolean;
  readonly timeoutMs: number;
  readonly expect: CaseExpectations;
  readonly source: SourceRef;
}

export interface Scenario {
  readonly file: string;
  readonly topology: string;
  readonly description?: string;
  readonly cases: readonly ScenarioCase[];
}
