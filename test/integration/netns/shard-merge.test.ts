import type { TestFn } from 'ava';
import { mergedEqualsWhole, wholeAndShards } from '../../helpers/shard-runs.ts';
import { netnsTest } from './support.ts';

/**
 * Sharding and --jobs on real namespaces: a generated suite (40 request rows, 3 fault cases) on
 * a 24-host estate, unsharded one case at a time and as 4 shards with `--jobs 4` (probes side by
 * side in the hosts' probers), merges to the unsharded report.
 */
const test = (await netnsTest()) as TestFn;

test('on netns a 43-case suite run as 4 shards with --jobs 4 merges to the report of one serial run', async (t) => {
  t.timeout(900_000);
  const runs = await wholeAndShards(t, {
    runtime: 'netns',
    rows: 40,
    shards: 4,
    jobs: 4,
    estate: { hosts: 24 },
  });
  await mergedEqualsWhole(t, runs);
});
