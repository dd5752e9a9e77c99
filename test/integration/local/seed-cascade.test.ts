import test from 'ava';
import type { Lab, ProbeRequest } from '../../../src/runtime/runtime.ts';
import { type Of, settled, upReference } from './lab-helpers.ts';

/** rsockd(8) / spec g.7: x on C → rsockd on B → sockd on A → z. */

let lab: Lab;
test.before(async () => {
  lab = await upReference('seed-cascade');
});
test.after.always(async () => {
  await lab?.down();
});

/** x on C sends a SOCKS 4 CONNECT; each test names only what differs (first hop, target, data). */
const xFromC = (request: Omit<ProbeRequest, 'from' | 'user' | 'protocol' | 'command'>) =>
  lab.probe({ from: 'C', user: 'x', protocol: 'socks4', command: 'connect', ...request });
const pick = (events: readonly unknown[], type: string, host: string) =>
  (events as { type: string; host?: string }[]).filter((e) => e.type === type && e.host === host);

test.serial('x on C reaches z through B and A; B hears x from identd on C, A trusts B (?=n)', async (t) => {
  const mark = lab.events().length;
  const outcome = await lab.probe({
    from: 'C',
    user: 'x',
    useSocksConf: true,
    protocol: 'socks4',
    command: 'connect',
    target: { host: 'z', port: 7 },
    send: 'hello',
  });
  const events = await settled(lab, mark, outcome);
  t.is(outcome.reply, 90);
  t.is(outcome.received, 'hello');
  t.deepEqual(outcome.clientRoute, { action: 'sockd', line: 1 });

  const atB = pick(events, 'identd', 'B') as Of<'identd'>[];
  t.is(atB.length, 1);
  t.is(atB[0]?.user, 'x');
  t.is(atB[0]?.verdict, 'confirmed');
  t.deepEqual(atB[0]?.queried, { address: '10.1.0.10', port: 113 });
  t.is(pick(events, 'identd', 'A').length, 0, 'A does not ask (?=n)');

  const requestAtA = pick(events, 'request', 'A') as Of<'request'>[];
  t.is(requestAtA[0]?.client.address, '10.2.0.2', 'A sees the request coming from B');
  t.is(requestAtA[0]?.user, 'x', 'carrying the user x claimed');
  const echo = pick(events, 'echo', 'z') as Of<'echo'>[];
  t.is(echo[0]?.peer.address, '198.51.100.1', 'z sees A');
  const logsA = (pick(events, 'log', 'A') as Of<'log'>[]).map((e) => e.message);
  t.true(logsA.includes('connected -- Connect from x(unknown)@B to z (echo)'), logsA.join('\n'));
});

test.serial(
  "A's identd query to B is answered with B's rsockd owner, so A refuses and C gets 91",
  async (t) => {
    const mark = lab.events().length;
    const outcome = await xFromC({
      via: 'B',
      target: { host: '198.51.100.10', port: 80 },
      send: 'GET / HTTP/1.0\r\n\r\n',
    });
    const events = await settled(lab, mark, outcome);
    t.is(outcome.reply, 91);
    const atB = pick(events, 'identd', 'B') as Of<'identd'>[];
    t.is(atB[0]?.user, 'x');
    const atA = pick(events, 'identd', 'A') as Of<'identd'>[];
    t.is(atA[0]?.user, 'nobody');
    t.is(atA[0]?.verdict, 'mismatch');
    t.deepEqual(atA[0]?.queried, { address: '10.2.0.2', port: 113 });
    const served = pick(events, 'identd-served', 'B') as Of<'identd-served'>[];
    t.regex(served[0]?.answer ?? '', /USERID : UNIX : nobody$/);
    const logsA = (pick(events, 'log', 'A') as Of<'log'>[]).map((e) => e.message);
    t.true(logsA.includes('*Alert*: real user is nobody, not x'), logsA.join('\n'));
    const replyA = pick(events, 'reply', 'A') as Of<'reply'>[];
    t.is(replyA[0]?.code, 93);
  },
);

test.serial('a lying identd on C makes B refuse with 93', async (t) => {
  await lab.setIdentd('C', { kind: 'lying', user: 'mallory' });
  t.teardown(() => lab.setIdentd('C', { kind: 'truthful' }));
  const outcome = await xFromC({
    via: 'B:1080',
    target: { host: 'z', port: 7 },
  });
  t.is(outcome.reply, 93);
});

test.serial('a bad replacement config keeps the old rules; a good one takes effect', async (t) => {
  const bad = await lab.replaceConfig('B', 'sockd.conf', 'allow everything\n');
  t.false(bad.reloaded);
  t.regex(bad.error ?? '', /Invalid|action/);
  const still = await xFromC({
    via: 'B',
    target: { host: 'z', port: 7 },
  });
  t.is(still.reply, 90);
  const good = await lab.replaceConfig('B', 'sockd.conf', 'deny 0.0.0.0 0.0.0.0\n');
  t.true(good.reloaded);
  const denied = await xFromC({
    via: 'B',
    target: { host: 'z', port: 7 },
  });
  t.is(denied.reply, 91);
  await lab.replaceConfig('B', 'sockd.conf', 'permit ?=I *=x 10.1.0.0 255.255.255.0\n');
});

test.serial('cutting the dmz makes B fail to reach A; restoring it heals', async (t) => {
  await lab.cutNetwork('dmz');
  const cut = await xFromC({
    via: 'B',
    target: { host: 'z', port: 7 },
  });
  t.is(cut.reply, 91);
  await lab.restoreNetwork('dmz');
  const healed = await xFromC({
    via: 'B',
    target: { host: 'z', port: 7 },
    send: 'again',
  });
  t.is(healed.reply, 90);
  t.is(healed.received, 'again');
});

test.serial('a stopped host refuses connections until started again', async (t) => {
  await lab.stopHost('B');
  t.false(lab.host('B').running ?? true);
  const down = await xFromC({
    via: 'B',
    target: { host: 'z', port: 7 },
  });
  t.is(down.reply, null);
  t.regex(down.error ?? '', /ECONNREFUSED/);
  await lab.startHost('B');
  const up = await xFromC({
    via: 'B',
    target: { host: 'z', port: 7 },
  });
  t.is(up.reply, 90);
});

test.serial(
  'C cannot reach z directly: the networks do not touch (ENETUNREACH, as on netns and Docker)',
  async (t) => {
    const direct = await xFromC({
      via: 'z:7',
      target: { host: 'z', port: 7 },
    });
    t.is(direct.reply, null);
    t.regex(direct.error ?? '', /ENETUNREACH/);
  },
);

test.serial('host() reports topology addresses and where a person outside reaches a port', (t) => {
  const b = lab.host('B');
  t.is(b.address(), '10.1.0.1');
  t.is(b.address('dmz'), '10.2.0.2');
  const real = b.reach(1080);
  t.regex(real.address, /^127\./);
  t.throws(() => lab.host('Q'), { message: /unknown host `Q`; hosts: C, B, A, z/ });
});
