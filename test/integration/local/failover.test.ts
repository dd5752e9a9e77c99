import test from 'ava';
import type { Lab } from '../../../src/runtime/runtime.ts';
import { type Of, settled, upReference } from './lab-helpers.ts';

/** d.7: fw1 is listed first but down; R connects to fw2 instead — until fw1 comes back. */

let lab: Lab;
test.before(async () => {
  lab = await upReference('failover');
});
test.after.always(async () => {
  await lab?.down();
});

const probe = () =>
  lab.probe({
    from: 'C',
    user: 'x',
    useSocksConf: true,
    protocol: 'socks4',
    command: 'connect',
    target: { host: 'z', port: 7 },
    send: 'ping',
  });

test.serial('with fw1 down, R fails over to fw2 and z sees fw2', async (t) => {
  t.false(lab.host('fw1').running ?? true);
  const mark = lab.events().length;
  const outcome = await probe();
  const events = await settled(lab, mark, outcome);
  t.is(outcome.reply, 90);
  t.is(outcome.received, 'ping');
  const attempts = events.filter(
    (e): e is Of<'upstream-attempt'> => e.type === 'upstream-attempt' && e.host === 'R',
  );
  // fw1 resolves (through the lab's host table) to both its addresses; neither answers.
  t.deepEqual(
    attempts.map((a) => [a.server, a.address, a.ok]),
    [
      ['fw1', lab.host('fw1').address('lan'), false],
      ['fw1', lab.host('fw1').address('outside'), false],
      ['fw2', lab.host('fw2').address('lan'), true],
    ],
  );
  // Down on lan: the host answers with a reset. Off R's networks: no route, as on netns and
  // Docker (ICMP network-unreachable), so the failure text is the same on every runtime.
  t.deepEqual(
    attempts.map((a) => a.error ?? null),
    ['ECONNREFUSED', 'ENETUNREACH', null],
  );
  const echo = events.find((e): e is Of<'echo'> => e.type === 'echo');
  t.is(echo?.peer.address, lab.host('fw2').address('outside'));
});

test.serial('once fw1 is started, R uses it first', async (t) => {
  await lab.startHost('fw1');
  t.teardown(() => lab.stopHost('fw1'));
  const mark = lab.events().length;
  const outcome = await probe();
  t.is(outcome.reply, 90);
  const attempts = (await settled(lab, mark, outcome)).filter(
    (e): e is Of<'upstream-attempt'> => e.type === 'upstream-attempt' && e.host === 'R',
  );
  t.deepEqual(
    attempts.map((a) => [a.server, a.ok]),
    [['fw1', true]],
  );
});

test('events reach the UpOptions sink tagged with their host, the same as lab.events()', async (t) => {
  const seen: string[] = [];
  const own = await upReference('failover', { events: { emit: (e) => seen.push(`${e.host}:${e.type}`) } });
  t.teardown(() => own.down());
  const outcome = await own.probe({
    from: 'C',
    user: 'x',
    protocol: 'socks4',
    command: 'connect',
    target: { host: 'z', port: 7 },
    send: 'tagged',
  });
  t.is(outcome.reply, 90);
  await settled(own, 0, outcome);
  t.deepEqual(
    seen,
    own.events().map((e) => `${e.host}:${e.type}`),
  );
  t.true(seen.includes('R:upstream-attempt'));
  t.true(seen.includes('z:echo'));
  t.true(seen.includes('C:identd-served'));
});
