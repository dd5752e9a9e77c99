import test from 'ava';
import { outcomeOf, resultOf, seedCases } from '../../helpers/results.ts';
import { badIdAtA, failoverAtB, grantedCascade } from '../../helpers/synthetic-events.ts';

const granted = `  - name: granted
    from: C
    user: x
    connect: z:7
    send: hello
    expect:
      reply: granted
      path: [C, B, A, z]
      rules: [{ host: B, file: sockd.conf, line: 2, action: permit }, { host: A, line: 2 }]
      identd: { B: { queried: C, user: x, verdict: confirmed }, A: none }
      route: { host: B, action: sockd, server: A, line: 3, attempts: 1 }
      clientRoute: { action: sockd, line: 1 }
      logs: ["using sockd at 10.2.0.1", { host: A, regex: "^connected -- .*x\\\\(unknown\\\\)" }]
      echo: true
      reached: true
`;

test('a run that matches every expectation has no failures', async (t) => {
  const [c] = await seedCases(granted);
  const r = await resultOf(c!, grantedCascade(), outcomeOf(90, 'hello'));
  t.deepEqual(r.failures, []);
});

test('each mismatch is reported with what, expected and actual', async (t) => {
  const [c] = await seedCases(granted);
  const r = await resultOf(c!, badIdAtA(), outcomeOf(91, ''));
  const byWhat = new Map(r.failures.map((f) => [f.what, f]));
  t.deepEqual(byWhat.get('reply'), { what: 'reply', expected: '90 (granted)', actual: '91 (rejected)' });
  t.deepEqual(byWhat.get('path'), { what: 'path', expected: 'C → B → A → z', actual: 'C → B → A' });
  t.deepEqual(byWhat.get('rule at A'), {
    what: 'rule at A',
    expected: '*:2',
    actual: 'deny by sockd.conf:4 (identd-mismatch)',
  });
  t.is(byWhat.get('identd at A')?.actual, 'asked B: 40002 , 1080 : USERID : UNIX : nobody');
  t.is(byWhat.get('data echoed intact')?.expected, 'hello');
  t.is(byWhat.get('destination reached')?.actual, 'false');
  t.truthy(byWhat.get('log line on A'));
  t.false(byWhat.has('rule at B'), 'B decided as expected');
});

test('identd expectations check the user a hop attributed', async (t) => {
  const [c] = await seedCases(`  - name: g7
    from: C
    user: x
    connect: z:80
    expect:
      identd: { B: x, A: x }
`);
  const r = await resultOf(c!, badIdAtA(), outcomeOf(91));
  t.deepEqual(r.failures, [{ what: 'identd user at A', expected: 'x', actual: 'nobody' }]);
});

test('upstream attempts are compared in order, by host name or address as written', async (t) => {
  const [byHost, byAddress, wrong] = await seedCases(`  - name: by host
    from: C
    user: x
    connect: z:7
    expect: { route: { host: B, attempts: [{ server: 10.2.0.9, ok: false }, { server: A, ok: true }], server: A } }
  - name: by address
    from: C
    user: x
    connect: z:7
    expect: { route: { host: B, attempts: 2, server: 10.2.0.1 } }
  - name: wrong
    from: C
    user: x
    connect: z:7
    expect: { route: { host: B, attempts: [{ server: A, ok: true }] } }
`);
  t.deepEqual((await resultOf(byHost!, failoverAtB(), outcomeOf(90))).failures, []);
  t.deepEqual((await resultOf(byAddress!, failoverAtB(), outcomeOf(90))).failures, []);
  t.deepEqual((await resultOf(wrong!, failoverAtB(), outcomeOf(90))).failures, [
    { what: 'upstream attempts at B', expected: 'A:ok', actual: '10.2.0.9:failed, A:ok' },
  ]);
});

test('expectations about a hop the request never reached say so', async (t) => {
  const [c] = await seedCases(`  - name: missing hop
    from: C
    user: x
    connect: z:7
    expect: { rules: [{ host: A, line: 2 }] }
`);
  const r = await resultOf(c!, [], outcomeOf(91));
  t.is(r.failures.length, 1);
  t.regex(r.failures[0]!.actual, /A is not a hop of this request \(path C\)/);
});

test('noLogs fails when a matching line was logged, and commands are matched like logs', async (t) => {
  const [c] = await seedCases(`  - name: quiet
    from: C
    user: x
    connect: z:80
    expect:
      noLogs: ["/\\\\*Alert\\\\*/"]
      commands: [{ host: B, contains: logger }]
`);
  const r = await resultOf(c!, badIdAtA(), outcomeOf(91));
  t.deepEqual(
    r.failures.map((f) => f.what),
    ['no log line', 'shell command on B'],
  );
  t.is(r.failures[0]!.actual, 'A: *Alert*: real user is nobody, not x');
  t.is(r.failures[1]!.actual, '(no commands ran)');
});

test('an identd expectation may name the USERID a hop received apart from the user identd named', async (t) => {
  const [right, wrong, claimOnly] = await seedCases(`  - name: claimed and attributed
    from: C
    user: x
    connect: z:80
    expect:
      identd: { A: { claimed: x, user: nobody } }
  - name: wrong claim
    from: C
    user: x
    connect: z:80
    expect:
      identd: { A: { claimed: y } }
  - name: claim at a hop that asked nobody
    from: C
    user: x
    connect: z:80
    expect:
      identd: { B: { claimed: x } }
`);
  t.deepEqual((await resultOf(right!, badIdAtA(), outcomeOf(91))).failures, []);
  t.deepEqual((await resultOf(wrong!, badIdAtA(), outcomeOf(91))).failures, [
    { what: 'claimed user at A', expected: 'y', actual: 'x' },
  ]);
  t.deepEqual((await resultOf(claimOnly!, badIdAtA(), outcomeOf(91))).failures, []);
});

test('an observed path longer than the expected one is a failure, not a match by prefix', async (t) => {
  const [c] = await seedCases(granted.replace('path: [C, B, A, z]', 'path: [C, B, A]'));
  const r = await resultOf(c!, grantedCascade(), outcomeOf(90, 'hello'));
  t.deepEqual(r.failures, [{ what: 'path', expected: 'C → B → A', actual: 'C → B → A → z' }]);
});
