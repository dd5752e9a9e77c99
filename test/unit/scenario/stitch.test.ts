import test from 'ava';
import type { ProbeOutcome, ProbeRequest } from '../../../src/runtime/runtime.ts';
import { stitchTraces } from '../../../src/scenario/stitch.ts';
import { seedCascade } from '../../helpers/seed-topology.ts';
import { badIdAtA, ep, failoverAtB, grantedCascade } from '../../helpers/synthetic-events.ts';

const request = (port: number): ProbeRequest => ({
  from: 'C',
  user: 'x',
  protocol: 'socks4',
  command: 'connect',
  target: { host: 'z', port },
  useSocksConf: true,
});
const outcome = (reply: number, received = ''): ProbeOutcome => ({
  reply,
  protocol: 'socks4',
  local: ep('10.1.0.10', 40001),
  received,
  durationMs: 3,
  clientRoute: { action: 'sockd', line: 1 },
});

test('hops are chained by matching one hop outbound local address to the next hop client', async (t) => {
  const trace = stitchTraces(grantedCascade(), await seedCascade(), {
    request: request(7),
    outcome: outcome(90, 'hi'),
  });
  t.deepEqual(trace.path, ['C', 'B', 'A', 'z']);
  t.deepEqual(
    trace.hops.map((h) => [h.host, h.from, h.decision.line, h.reply]),
    [
      ['B', 'C', 2, 90],
      ['A', 'B', 2, 90],
    ],
  );
  t.deepEqual(trace.destination, { host: 'z', reached: true, peer: ep('198.51.100.1', 40003) });
  t.deepEqual(trace.clientRoute, { action: 'sockd', line: 1 });
});

test('identd events belong to the hop that asked and name the queried host', async (t) => {
  const trace = stitchTraces(grantedCascade(), await seedCascade(), {
    request: request(7),
    outcome: outcome(90),
  });
  t.deepEqual(trace.hops[0]!.identd, {
    queried: 'C',
    answer: '40001 , 1080 : USERID : UNIX : x',
    user: 'x',
    verdict: 'confirmed',
    behaviour: 'truthful',
  });
  t.is(trace.hops[1]!.identd, undefined);
});

test('a request refused at the second hop ends the path there, with the identd answer it got', async (t) => {
  const trace = stitchTraces(badIdAtA(), await seedCascade(), { request: request(80), outcome: outcome(91) });
  t.deepEqual(trace.path, ['C', 'B', 'A']);
  const a = trace.hops[1]!;
  t.deepEqual(a.identd && [a.identd.queried, a.identd.user, a.identd.verdict], ['B', 'nobody', 'mismatch']);
  t.deepEqual(a.decision, { action: 'deny', file: 'sockd.conf', line: 4, reason: 'identd-mismatch' });
  t.is(a.reply, 93);
  t.false(trace.destination?.reached ?? true);
  t.true(a.logs.includes('*Alert*: real user is nobody, not x'));
});

test('upstream attempts are kept in order and mapped to host names', async (t) => {
  const trace = stitchTraces(failoverAtB(), await seedCascade(), {
    request: request(7),
    outcome: outcome(90),
  });
  t.deepEqual(trace.hops[0]!.route?.attempts, [
    { server: '10.2.0.9', ok: false, error: 'ECONNREFUSED', address: '10.2.0.9', port: 1080 },
    { server: '10.2.0.1', ok: true, host: 'A', address: '10.2.0.1', port: 1080 },
  ]);
});

test('events of other requests in the same window are not mixed into the trace', async (t) => {
  const other = badIdAtA(5_000).map((e) =>
    e.type === 'request' && e.host === 'B' ? { ...e, client: ep('10.1.0.10', 40999) } : e,
  );
  const trace = stitchTraces([...other, ...grantedCascade()], await seedCascade(), {
    request: request(7),
    outcome: outcome(90),
  });
  t.deepEqual(trace.path, ['C', 'B', 'A', 'z']);
  t.deepEqual(
    trace.hops.map((h) => h.session),
    ['b1', 'a1'],
  );
});

test('without any server event the trace is the origin alone and not reached', async (t) => {
  const trace = stitchTraces([], await seedCascade(), {
    request: request(7),
    outcome: { ...outcome(91), local: ep('10.1.0.10', 1) },
  });
  t.deepEqual(trace.path, ['C']);
  t.deepEqual(trace.hops, []);
  t.false(trace.destination?.reached ?? true);
});
