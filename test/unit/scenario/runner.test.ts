import test from 'ava';
import type { LabEvent } from '../../../src/common/events.ts';
import { runCases } from '../../../src/scenario/runner.ts';
import { FakeLab } from '../../helpers/fake-lab.ts';
import { outcomeOf, seedCases } from '../../helpers/results.ts';
import { seedCascade } from '../../helpers/seed-topology.ts';
import { badIdAtA, grantedCascade } from '../../helpers/synthetic-events.ts';

const twoCases = `  - name: first
    from: C
    user: x
    connect: z:7
    send: hello
    steps: [{ identd: { host: C, behaviour: down } }, { cut: dmz }]
    cleanup: [{ restore: dmz }]
    expect: { reply: granted, path: [C, B, A, z], echo: true }
  - name: second
    from: C
    user: x
    connect: z:80
    steps:
      - replaceConfig: { host: B, file: sockd.conf, text: "deny 0.0.0.0 0.0.0.0\\n", reloaded: true }
    expect: { reply: rejected, identd: { A: nobody } }
`;

test('steps run before the request and cleanup after it, in order, and each case gets its own trace', async (t) => {
  const cases = await seedCases(twoCases);
  const lab = new FakeLab(await seedCascade(), {
    probe: (req) =>
      req.target.port === 7
        ? { outcome: outcomeOf(90, 'hello'), events: grantedCascade(Date.now()) }
        : { outcome: outcomeOf(91), events: badIdAtA(Date.now()) },
  });
  const seen: string[] = [];
  const results = await runCases({
    lab,
    cases,
    settleMs: 20,
    hooks: {
      onCaseStart: (c) => seen.push(`start ${c.name}`),
      onCaseEnd: (r) => seen.push(`end ${r.case.name} ${r.verdict}`),
    },
  });
  // The second case's replaced sockd.conf is put back after it (no keep: true).
  t.deepEqual(lab.steps, [
    'identd C down',
    'cut dmz',
    'restore dmz',
    'replace B sockd.conf',
    'replace B sockd.conf',
  ]);
  t.deepEqual(seen, ['start first', 'end first pass', 'start second', 'end second pass']);
  t.deepEqual(results[0]!.trace.path, ['C', 'B', 'A', 'z']);
  t.deepEqual(
    results[1]!.trace.path,
    ['C', 'B', 'A'],
    'events of the first case are not mixed into the second',
  );
});

test('a reload that does not do what the step says, and a step that throws, fail the case', async (t) => {
  const cases = await seedCases(twoCases);
  const lab = new FakeLab(await seedCascade(), {
    probe: () => ({ outcome: outcomeOf(91), events: badIdAtA(Date.now()) }),
    replaceConfig: () => ({ reloaded: false, error: 'sockd.conf:1: Invalid entry' }),
    failStep: (what) => (what === 'cut dmz' ? 'E_LAB_NETWORK: no such network' : undefined),
  });
  const [first, second] = await runCases({ lab, cases, settleMs: 20 });
  t.deepEqual(
    first!.failures.find((f) => f.what.startsWith('step 2')),
    {
      what: 'step 2: cut dmz',
      expected: 'step succeeds',
      actual: 'E_LAB_NETWORK: no such network',
    },
  );
  t.deepEqual(second!.failures, [
    {
      what: 'step 1: replace sockd.conf on B',
      expected: 'reloaded',
      actual: 'rejected: sockd.conf:1: Invalid entry',
    },
  ]);
  t.is(second!.verdict, 'fail');
});

test('a probe that throws becomes an outcome with no reply and the error, not a crash', async (t) => {
  const [c] = await seedCases(`  - name: boom
    from: C
    user: x
    connect: z:7
    expect: { reply: none }
`);
  const lab = new FakeLab(await seedCascade(), {
    probe: () => {
      throw new Error('E_PROBE_USER: x is not a user of C');
    },
  });
  const [r] = await runCases({ lab, cases: [c!], settleMs: 20 });
  t.is(r!.outcome.reply, null);
  t.is(r!.outcome.error, 'E_PROBE_USER: x is not a user of C');
  t.is(r!.verdict, 'pass');
});

test('a reply that arrives before the server’s events still gets its hops: the runner waits for them', async (t) => {
  const [c] = await seedCases(`  - name: quick refusal
    from: C
    user: x
    connect: z:80
    expect: { reply: rejected, path: [C, B, A] }
`);
  // netns and docker agents forward events over a channel: a fast refusal's reply can come first.
  const lab: FakeLab = new FakeLab(await seedCascade(), {
    probe: () => {
      // The hops' events, then what completes the request (both identds' answers and the hops'
      // closes), which ends the runner's wait before its limit.
      const now = Date.now();
      const late = badIdAtA(now);
      const served = (host: string, peer: string, query: string, user: string) =>
        ({
          t: now,
          host,
          service: 'identd',
          type: 'identd-served',
          peer: { address: peer, port: 50000 },
          query,
          answer: `${query} : USERID : UNIX : ${user}`,
          behaviour: 'truthful',
        }) as LabEvent;
      const closes = [...new Map(late.map((e) => [`${e.host}/${e.session}`, e])).values()].map(
        (e) =>
          ({
            ...e,
            type: 'close',
            bytesFromClient: 9,
            bytesFromRemote: 8,
            durationMs: 1,
            reason: 'refused',
          }) as LabEvent,
      );
      const complete = [
        served('C', '10.1.0.1', '40001 , 1080', 'x'),
        served('B', '10.2.0.1', '40002 , 1080', 'nobody'),
      ];
      setTimeout(() => (lab.events() as LabEvent[]).push(...late, ...complete, ...closes), 100);
      return { outcome: outcomeOf(91), events: [] };
    },
  });
  // The settle limit only bounds a failure (the runner returns once the hops are in): 10 s, so a
  // loaded machine that stalls this process past it does not cut the late events off.
  const [r] = await runCases({ lab, cases: [c!], settleMs: 10_000 });
  t.deepEqual(r!.trace.path, ['C', 'B', 'A']);
  t.is(r!.verdict, 'pass');
});

test('a server that closes without a reply is still a hop when its close event comes after the probe ends', async (t) => {
  const [c] = await seedCases(`  - name: socks5 to B without --socks5
    from: C
    user: x
    protocol: socks5
    connect: z:7
    expect: { reply: none, path: [C, B] }
`);
  // The probe connected to B (its local end), got no reply, and B's close arrives 100 ms later,
  // as when a netns or docker agent forwards it over a channel.
  const local = { address: '10.1.0.10', port: 40001 };
  const lab: FakeLab = new FakeLab(await seedCascade(), {
    probe: () => {
      const closed = {
        t: Date.now(),
        host: 'B',
        service: 'rsockd',
        session: 's9',
        type: 'close',
        bytesFromClient: 3,
        bytesFromRemote: 0,
        durationMs: 1,
        reason: 'E_S4_VERSION',
        client: local,
        local: { address: '10.1.0.1', port: 1080 },
      } as LabEvent;
      setTimeout(() => (lab.events() as LabEvent[]).push(closed), 100);
      return { outcome: outcomeOf(null, '', { protocol: 'socks5', local }), events: [] };
    },
  });
  // The settle limit only bounds a failure (the runner returns once the hops are in): 10 s, so a
  // loaded machine that stalls this process past it does not cut the late events off.
  const [r] = await runCases({ lab, cases: [c!], settleMs: 10_000 });
  t.deepEqual(r!.trace.path, ['C', 'B']);
  t.is(r!.verdict, 'pass');
});

const replacing = (keep: string) => `  - name: B closed
    from: C
    user: x
    connect: z:7
    steps:
      - replaceConfig: { host: B, file: sockd.conf, text: "deny 0.0.0.0 0.0.0.0\\n", reloaded: true }
      - replaceConfig: { host: B, file: sockd.conf, text: "deny 10.1.0.0 255.255.255.0\\n" }
${keep}    expect: { reply: rejected }
  - name: after
    from: C
    user: x
    connect: z:7
    expect: { reply: granted }
`;

test('configs a case replaced are put back as they were before it, unless it says keep: true', async (t) => {
  const topology = await seedCascade();
  const original = topology.hosts.find((h) => h.name === 'B')!.server!.sockdConf.text;
  const written: string[] = [];
  const script = {
    probe: () => ({ outcome: outcomeOf(91), events: badIdAtA(Date.now()) }),
    replaceConfig: (_h: string, _f: string, text: string) => {
      written.push(text);
      return { reloaded: true };
    },
  };
  await runCases({ lab: new FakeLab(topology, script), cases: await seedCases(replacing('')), settleMs: 20 });
  t.deepEqual(written, ['deny 0.0.0.0 0.0.0.0\n', 'deny 10.1.0.0 255.255.255.0\n', original]);

  written.length = 0;
  const kept = await seedCases(replacing('    keep: true\n'));
  t.true(kept[0]!.keep);
  await runCases({ lab: new FakeLab(topology, script), cases: kept, settleMs: 20 });
  t.deepEqual(written, ['deny 0.0.0.0 0.0.0.0\n', 'deny 10.1.0.0 255.255.255.0\n']);
});
