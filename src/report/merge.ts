import { isDeepStrictEqual } from 'node:util';
import {
  type CoveredLine,
  type FileCoverage,
  type RuleCoverage,
  sumTotals,
  totalsOf,
} from '../analysis/rule-coverage.ts';
import { InputError } from '../common/errors.ts';
import {
  assembleRunReport,
  type CaseReport,
  type DiagramFailureReport,
  type RunReport,
  type ServerTotalsRow,
  sortedCounts,
} from './model.ts';

/**
 * `sockslab report merge`: the shards of one suite (`run --shard K/N`) back into the report one
 * unsharded run writes. Pure: reports in, report out; the CLI reads the directories, draws the
 * diagrams and writes the files with the same renderers as `run`.
 *
 * Before merging, the shards must be one suite, complete: the same N, suite fingerprint,
 * topology, runtime, scenarios and tags; every K from 1 to N exactly once; together every suite
 * position once. Anything else is an input error naming the directories (exit 2).
 */

export interface ShardInput {
  /** Where the shard's report came from (for messages). */
  readonly dir: string;
  readonly report: RunReport;
}

export interface MergeInfo {
  readonly id: string;
  readonly diagramFailures: readonly DiagramFailureReport[];
}

function fail(code: string, message: string): never {
  throw new InputError(code, message);
}

/** Checks the shards form one complete suite; returns them sorted by K. */
export function checkShards(inputs: readonly ShardInput[]): ShardInput[] {
  if (inputs.length === 0) fail('E_MERGE_NONE', 'report merge: no shard directories given');
  for (const i of inputs) {
    if (!i.report.run.shard) {
      fail('E_MERGE_NOT_SHARD', `${i.dir}: report.json is not a shard's (run it with --shard K/N)`);
    }
  }
  const first = inputs[0]!;
  const s0 = first.report.run.shard!;
  const same = (what: string, get: (r: RunReport) => unknown) => {
    for (const i of inputs.slice(1)) {
      if (!isDeepStrictEqual(get(i.report), get(first.report))) {
        fail(
          'E_MERGE_MISMATCH',
          `${i.dir} and ${first.dir} are shards of different runs: their ${what} differ (${JSON.stringify(get(i.report))} vs ${JSON.stringify(get(first.report))})`.slice(
            0,
            600,
          ),
        );
      }
    }
  };
  same('report versions', (r) => r.version);
  same('shard counts (N of --shard K/N)', (r) => r.run.shard!.count);
  same('suites (scenario cases)', (r) => r.run.shard!.suite);
  same('topologies', (r) => r.topology);
  same('runtimes', (r) => r.run.runtime);
  same('scenario files', (r) => r.run.scenarios);
  same('tags', (r) => r.run.tags);
  // The configs every shard counted coverage against (the topology summary does not carry them).
  same('configs', (r) =>
    r.coverage?.hosts.map((h) => h.files.map((f) => [f.host, f.file, f.usedBy, f.lines.map((l) => l.text)])),
  );
  const byIndex = new Map<number, ShardInput>();
  for (const i of inputs) {
    const k = i.report.run.shard!.index;
    const other = byIndex.get(k);
    if (other) fail('E_MERGE_DUPLICATE', `shard ${k}/${s0.count} given twice: ${other.dir} and ${i.dir}`);
    byIndex.set(k, i);
  }
  const missing = Array.from({ length: s0.count }, (_, k) => k + 1).filter((k) => !byIndex.has(k));
  if (missing.length > 0) {
    fail(
      'E_MERGE_MISSING',
      `shard${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${s0.count}`).join(', ')} missing: ${s0.suite.cases} cases need all ${s0.count} shards`,
    );
  }
  const seen = new Map<number, string>();
  for (const i of inputs) {
    const { shard } = i.report.run;
    if (shard!.positions.length !== i.report.cases.length) {
      fail(
        'E_MERGE_SHARD',
        `${i.dir}: report.json lists ${shard!.positions.length} positions for ${i.report.cases.length} cases`,
      );
    }
    for (const p of shard!.positions) {
      const other = seen.get(p);
      if (other !== undefined) fail('E_MERGE_SHARD', `suite case ${p + 1} is in both ${other} and ${i.dir}`);
      if (!Number.isInteger(p) || p < 0 || p >= s0.suite.cases) {
        fail('E_MERGE_SHARD', `${i.dir}: suite position ${p} is outside the suite's ${s0.suite.cases} cases`);
      }
      seen.set(p, i.dir);
    }
  }
  if (seen.size !== s0.suite.cases) {
    fail('E_MERGE_SHARD', `the shards hold ${seen.size} of the suite's ${s0.suite.cases} cases`);
  }
  return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, i]) => i);
}

export function mergeReports(inputs: readonly ShardInput[], info: MergeInfo): RunReport {
  const shards = checkShards(inputs);
  const first = shards[0]!.report;
  // Every case with its suite position; the merged report lists them in suite order.
  const placed = shards.flatMap(({ report }) =>
    report.cases.map((c, i) => ({ position: report.run.shard!.positions[i]!, case: c })),
  );
  placed.sort((a, b) => a.position - b.position);
  const cases: CaseReport[] = placed.map((p) => p.case);
  const positionsOf = (report: RunReport) => report.run.shard!.positions;
  const coverage = mergeCoverage(
    shards.map(({ report }) => ({
      coverage: report.coverage,
      cases: report.cases,
      positions: positionsOf(report),
    })),
  );
  const startedAt = Math.min(...shards.map((s) => Date.parse(s.report.run.startedAt)));
  const finishedAt = Math.max(...shards.map((s) => Date.parse(s.report.run.finishedAt)));
  const merged = assembleRunReport(
    {
      id: info.id,
      runtime: first.run.runtime,
      startedAt,
      finishedAt,
      scenarios: first.run.scenarios,
      tags: first.run.tags,
      topologyFile: first.topology.file,
      diagramFailures: info.diagramFailures,
    },
    first.topology,
    cases,
    coverage,
    mergeServers(shards.map((s) => s.report)),
  );
  const matrix = shards.find((s) => s.report.matrix)?.report.matrix;
  return matrix ? { ...merged, matrix } : merged;
}

/** Each host's counters summed over the shards (each shard's lab counted only its own cases). */
export function mergeServers(reports: readonly RunReport[]): ServerTotalsRow[] | undefined {
  const withServers = reports.filter((r) => r.servers);
  if (withServers.length === 0) return undefined;
  const rows = new Map<string, ServerTotalsRow>();
  const add = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) => {
    const out: Record<string, number> = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  for (const r of withServers) {
    for (const row of r.servers ?? []) {
      const have = rows.get(row.host);
      rows.set(
        row.host,
        have
          ? {
              host: row.host,
              sessions: have.sessions + row.sessions,
              replies: add(have.replies, row.replies),
              permitted: have.permitted + row.permitted,
              denied: have.denied + row.denied,
              identd: add(have.identd, row.identd),
              upstreamAttempts: have.upstreamAttempts + row.upstreamAttempts,
              upstreamFailovers: have.upstreamFailovers + row.upstreamFailovers,
              bytesFromClient: have.bytesFromClient + row.bytesFromClient,
              bytesFromRemote: have.bytesFromRemote + row.bytesFromRemote,
            }
          : row,
      );
    }
  }
  // Topology order, as a single run lists them.
  const order = reports[0]!.topology.hosts.map((h) => h.name);
  return order.flatMap((h) => {
    const row = rows.get(h);
    return row ? [sortedCounts(row)] : [];
  });
}

interface CoverageShard {
  readonly coverage: RuleCoverage | null;
  readonly cases: readonly CaseReport[];
  readonly positions: readonly number[];
}

/**
 * A list of case names in a shard's case order (a coverage line's `reached`, say) with each
 * name's suite position: the next case of that name in the shard, in order.
 */
function positioned(names: readonly string[], shard: CoverageShard): { name: string; position: number }[] {
  const out: { name: string; position: number }[] = [];
  let at = 0;
  for (const name of names) {
    while (at < shard.cases.length && shard.cases[at]!.name !== name) at++;
    out.push({ name, position: at < shard.cases.length ? shard.positions[at]! : Number.MAX_SAFE_INTEGER });
    // The same name may come again for the same case only after another case (see rule-coverage's push).
  }
  return out;
}

/** Names from every shard in suite order, a name repeated back to back kept once (as coverage counts). */
function mergeNames(lists: readonly { name: string; position: number }[][]): string[] {
  const all = lists.flat().sort((a, b) => a.position - b.position);
  const out: string[] = [];
  for (const { name } of all) if (out[out.length - 1] !== name) out.push(name);
  return out;
}

/**
 * Rule coverage of the whole suite from the shards'. Each shard counted its own cases against
 * the configs in force at their place in the suite (other shards' steps were fast-forwarded), so
 * the suite's coverage of a line is the union of the shards', in suite order.
 */
export function mergeCoverage(shards: readonly CoverageShard[]): RuleCoverage | null {
  const withCoverage = shards.filter((s) => s.coverage);
  if (withCoverage.length === 0) return null;
  const base = withCoverage[0]!.coverage!;
  const hosts = base.hosts.map((h, hi) => {
    const files: FileCoverage[] = h.files.map((f, fi) => {
      const lines: CoveredLine[] = f.lines.map((l, li) => {
        const at = (s: CoverageShard) => s.coverage!.hosts[hi]!.files[fi]!.lines[li]!;
        return {
          ...l,
          reached: mergeNames(withCoverage.map((s) => positioned(at(s).reached, s))),
          decided: mergeNames(withCoverage.map((s) => positioned(at(s).decided, s))),
        };
      });
      return { ...f, lines, totals: totalsOf(lines) };
    });
    // Totals add up as ruleCoverage adds them: a host's are its files' added together.
    return { ...h, files, totals: sumTotals(files.map((f) => f.totals)) };
  });
  const never = hosts.flatMap((h) =>
    h.files.flatMap((f) =>
      f.lines
        .filter((l) => l.rule && l.reached.length === 0)
        .map((l) => ({ host: f.host, file: f.file, usedBy: f.usedBy, line: l.line, text: l.text })),
    ),
  );
  const uncounted = withCoverage
    .flatMap((s) => {
      const names = positioned(
        s.coverage!.uncounted.map((u) => u.case),
        s,
      );
      return s.coverage!.uncounted.map((u, i) => ({ u, position: names[i]!.position, i }));
    })
    .sort((a, b) => a.position - b.position || a.i - b.i)
    .map((x) => x.u);
  return {
    basis: base.basis,
    cases: withCoverage.reduce((n, s) => n + s.coverage!.cases, 0),
    hosts,
    never,
    totals: sumTotals(hosts.map((h) => h.totals)),
    uncounted,
  };
}
