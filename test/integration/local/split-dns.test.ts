import test from 'ava';
import { localRuntime } from '../../../src/runtime/local/local-runtime.ts';
import { checkSplitDns, comparableCase, runSplitDns } from '../../helpers/split-dns.ts';

/**
 * The split-DNS review design on the local runtime: a 4A cascade where only the last hop resolves
 * the internal name, one name resolved differently at two hops, forged SOCKS 4 claims and wrong or
 * borrowed SOCKS 5 credentials. Every case passes, `sockslab check` predicts every case as its
 * expectations say, and the run agrees with the prediction hop by hop (destination form too).
 */

test('every split-DNS case passes on local and agrees with its prediction', async (t) => {
  t.timeout(120_000);
  const results = await runSplitDns(localRuntime);
  t.true(results.length >= 12, `${results.length} cases`);
  for (const r of results.map(comparableCase)) {
    t.deepEqual(r.failures, [], r.name);
    t.is(r.verdict, 'pass', r.name);
    t.deepEqual(r.predictionDifferences, [], r.name);
    t.true(r.predictionAgreed, r.name);
  }
});

test('the internal name travels as a name to the last hop, which alone resolves it', async (t) => {
  t.timeout(120_000);
  const results = await runSplitDns(localRuntime);
  const deep = results.find((r) => r.case.name.startsWith('db.internal is resolved only by D'))!;
  t.deepEqual(
    deep.trace.hops.map((h) => [h.host, h.destination]),
    [
      ['B', { received: 'name', name: 'db.internal', address: null, resolvedBy: 'D' }],
      ['A', { received: 'name', name: 'db.internal', address: null, resolvedBy: 'D' }],
      ['D', { received: 'name', name: 'db.internal', address: '10.4.0.30', resolvedBy: 'D' }],
    ],
  );
  // The same name, two answers: B's dmz zone says web, D's vault zone says db.
  const atB = results.find((r) => r.case.name.startsWith('app.corp resolves at B'))!;
  const atD = results.find((r) => r.case.name.startsWith('app.corp from ops'))!;
  t.is(atB.trace.hops[0]?.destination?.address, '10.2.0.30');
  t.is(atD.trace.hops[0]?.destination?.address, '10.4.0.30');
  // Borrowed credentials: the trace names both the socket's owner and the login.
  const borrowed = results.find((r) => r.case.name.startsWith('y logging in'))!;
  t.deepEqual(borrowed.trace.origin, { host: 'C', user: 'y', claim: 'x', claimVia: 'rfc1929' });
  t.is(borrowed.trace.hops[0]?.realUser, 'y');
  // BIND: every hop's bound address, second reply, and D's sockd.route line as written.
  const bind = results.find((r) => r.case.request.command === 'bind')!;
  t.deepEqual(
    bind.trace.hops.map((h) => [h.host, h.bound?.address, h.secondReply]),
    [
      ['B', '10.4.0.1', 90],
      ['A', '10.4.0.1', 90],
      ['D', '10.4.0.1', 90],
    ],
  );
  t.deepEqual(bind.trace.hops[2]?.iface, {
    address: '10.4.0.1',
    file: 'sockd.route',
    line: 1,
    text: '10.4.0.1 10.4.0.0 255.255.255.0',
  });
});

test('sockslab check predicts every split-DNS case as its expectations say', async (t) => {
  const check = await checkSplitDns();
  t.deepEqual(
    check.cases.filter((c) => c.contradictions.length > 0).map((c) => c.case.name),
    [],
  );
  t.true(check.cases.length >= 12);
});
