import test from 'ava';
import { mergedEqualsWhole, sockslab, wholeAndShards } from '../../helpers/shard-runs.ts';

/**
 * Issue 18's done-when on the local runtime: a generated suite of 203 cases (200 request rows and
 * 3 fault cases between them, test/helpers/generated-suite.ts) once unsharded one case at a time,
 * and as 4 shards each with `--jobs 3`; `sockslab report merge` of the shards gives the unsharded
 * run's report (test/helpers/shard-runs.ts). Then the merge's refusals, each exit 2 naming what is
 * wrong: a missing, a doubled, an unsharded and a foreign shard.
 */

test('a 203-case suite run as 4 shards with --jobs 3 and merged gives the report of one serial run, and merge refuses incomplete or foreign shards', async (t) => {
  t.timeout(900_000);
  const runs = await wholeAndShards(t, { runtime: 'local', rows: 200, shards: 4, jobs: 3 });
  t.is(runs.cases, 203);
  await mergedEqualsWhole(t, runs);
  const { work, topology, shardDirs } = runs;

  const missing = await sockslab(['report', 'merge', 'shard1', 'shard2', 'shard4', '-o', 'bad'], work);
  t.is(missing.exitCode, 2);
  t.regex(missing.stderr, /shard 3\/4 missing: 203 cases need all 4 shards/);
  const doubled = await sockslab(['report', 'merge', ...shardDirs, 'shard2', '-o', 'bad'], work);
  t.is(doubled.exitCode, 2);
  t.regex(doubled.stderr, /shard 2\/4 given twice: shard2 and shard2/);
  const notShard = await sockslab(['report', 'merge', 'whole', 'shard1', '-o', 'bad'], work);
  t.is(notShard.exitCode, 2);
  t.regex(notShard.stderr, /whole: report\.json is not a shard's \(run it with --shard K\/N\)/);
  // A shard of another suite: the same topology, the fault file alone.
  const other = await sockslab(
    ['run', topology, 'suite/b-faults.scenario.yaml', '--report-dir', 'other', '--shard', '1/4'],
    work,
  );
  t.is(other.exitCode, 0, other.stdout + other.stderr);
  const foreign = await sockslab(
    ['report', 'merge', 'other', 'shard2', 'shard3', 'shard4', '-o', 'bad'],
    work,
  );
  t.is(foreign.exitCode, 2);
  t.regex(foreign.stderr, /are shards of different runs: their suites \(scenario cases\) differ/);
});
