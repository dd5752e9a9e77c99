import type { TestFn } from 'ava';
import { localRuntime } from '../../../src/runtime/local/local-runtime.ts';
import { netnsRuntime } from '../../../src/runtime/netns/index.ts';
import { comparableCase, runSplitDns } from '../../helpers/split-dns.ts';
import { netnsTest } from './support.ts';

/**
 * The split-DNS review design on real namespaces: each server resolves from its own --hosts file
 * (its hosts: entries, its zones, the topology's host names), the probe from the origin's table.
 * Every case passes, agrees with `sockslab check`, and matches the local run hop by hop.
 */
const test = (await netnsTest()) as TestFn;

test('on netns every split-DNS case passes and matches the local run hop by hop', async (t) => {
  t.timeout(300_000);
  const local = (await runSplitDns(localRuntime)).map(comparableCase);
  const netns = (await runSplitDns(netnsRuntime)).map(comparableCase);
  t.is(netns.length, local.length);
  for (const [i, l] of local.entries()) {
    t.is(netns[i]?.verdict, 'pass', `${l.name}: ${netns[i]?.failures.join('; ')}`);
    t.true(netns[i]?.predictionAgreed, `${l.name}: ${netns[i]?.predictionDifferences.join('; ')}`);
    t.deepEqual(netns[i], l, `case "${l.name}" differs between netns and local`);
  }
});
