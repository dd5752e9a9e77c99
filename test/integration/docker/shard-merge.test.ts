import type { TestFn } from 'ava';
import { mergedEqualsWhole, wholeAndShards } from '../../helpers/shard-runs.ts';
import { dockerTest } from './support.ts';

/**
 * Sharding and --jobs on Docker: a generated suite (24 request rows, 3 fault cases) on a 24-host
 * estate, unsharded one case at a time and as 3 shards with `--jobs 4` (probes side by side
 * through each host's prober exec), merges to the unsharded report.
 */
const test = (await dockerTest()) as TestFn;

test('on docker a 27-case suite run as 3 shards with --jobs 4 merges to the report of one serial run', async (t) => {
  t.timeout(900_000);
  const runs = await wholeAndShards(t, {
    runtime: 'docker',
    rows: 24,
    shards: 3,
    jobs: 4,
    estate: { hosts: 24 },
  });
  await mergedEqualsWhole(t, runs);
});
