import type { TestFn } from 'ava';
import { type NetnsLab, netnsRuntime } from '../../../src/runtime/netns/index.ts';
import { explain, runForgedClaim, seedWithY } from '../../helpers/forged-claim.ts';
import { namespacesWith, netnsTest, processesOfRun, shortTimeouts } from './support.ts';

/** Issue 15.1 on real namespaces: the probe runs as y's uid and sends the USERID x. */
const test = (await netnsTest()) as TestFn;

test('on netns a forged claim is sent by a process of the owner uid, and identd on C names the owner', async (t) => {
  t.timeout(120_000);
  const topology = await seedWithY();
  const lab = (await netnsRuntime.up(topology, { timeouts: shortTimeouts })) as NetnsLab;
  try {
    const [forged, honest] = await runForgedClaim(lab, topology);
    t.is(forged!.verdict, 'pass', explain(forged!));
    t.is(honest!.verdict, 'pass', explain(honest!));
    t.is(forged!.trace.hops[0]?.user, 'x');
    t.is(forged!.trace.hops[0]?.identd?.user, 'y');
    t.is(forged!.outcome.reply, 93);
  } finally {
    await lab.down();
    t.deepEqual(await processesOfRun(lab.runId), []);
    t.deepEqual(await namespacesWith(lab.plan.prefix), []);
  }
});
