import test from 'ava';
import { localRuntime } from '../../../src/runtime/local/local-runtime.ts';
import { explain, runForgedClaim, seedWithY } from '../../helpers/forged-claim.ts';

test('on the local runtime a forged claim sends the claimed USERID from a socket identd attributes to its owner', async (t) => {
  const topology = await seedWithY();
  const lab = await localRuntime.up(topology, {
    timeouts: { identd: 2000, upstreamConnect: 2000, establish: 4000, requestRead: 4000, identdRead: 1000 },
  });
  try {
    const [forged, honest] = await runForgedClaim(lab, topology);
    t.is(forged!.verdict, 'pass', explain(forged!));
    t.is(honest!.verdict, 'pass', explain(honest!));
    // The wire carried x, the owner registry said y: B's request event and its identd event.
    const b = forged!.trace.hops[0]!;
    t.is(b.user, 'x');
    t.is(b.identd?.user, 'y');
    t.deepEqual(forged!.trace.origin, { host: 'C', user: 'y', claim: 'x' });
    t.is(forged!.outcome.reply, 93);
  } finally {
    await lab.down();
  }
});
