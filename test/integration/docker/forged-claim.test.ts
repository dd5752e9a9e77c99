import type { TestFn } from 'ava';
import { dockerRuntime } from '../../../src/runtime/docker/index.ts';
import { explain, runForgedClaim, seedWithY } from '../../helpers/forged-claim.ts';
import { assertNothingLeft, dockerTest, relocatedSeed } from './support.ts';

/** Issue 15.1 in containers: the host agent runs the probe as y's uid and it sends the USERID x. */
const test = (await dockerTest()) as TestFn;

test('in Docker a forged claim is sent by a process of the owner uid, and identd on C names the owner', async (t) => {
  t.timeout(300_000);
  // Its own subnets: the conformance test may have the seed cascade up at the same time.
  const topology = await seedWithY((text) => relocatedSeed(text, 211));
  const lab = await dockerRuntime.up(topology, {
    timeouts: { identd: 1500, upstreamConnect: 1500, establish: 8000, requestRead: 8000, identdRead: 1500 },
  });
  try {
    const [forged, honest] = await runForgedClaim(lab, topology);
    t.is(forged!.verdict, 'pass', explain(forged!));
    t.is(honest!.verdict, 'pass', explain(honest!));
    t.is(forged!.trace.hops[0]?.user, 'x');
    t.is(forged!.trace.hops[0]?.identd?.user, 'y');
    t.is(forged!.outcome.reply, 93);
  } finally {
    await lab.down();
  }
  await assertNothingLeft(t);
});
