import test from 'ava';
import type { ProbeOutcome, ProbeRequest } from '../../../src/runtime/runtime.ts';
import { changesLab, runScheduled } from '../../../src/scenario/scheduler.ts';
import { inShard, parseShard, shardPositions, suiteFingerprint } from '../../../src/scenario/shard.ts';
import { FakeLab } from '../../helpers/fake-lab.ts';
import { outcomeOf, seedCases } from '../../helpers/results.ts';
import { seedCascade } from '../../helpers/seed-topology.ts';

/** Request-only cases r1…rN, one per port, plus `fault` (an identd step) after the first `before` of them. */
function suiteText(before: number, after: number): string {
  const request = (i: number) => `  - name: r${i}
    from: C
    user: x
    connect: z:${1000 + i}
    expect: { reply: rejected }
`;
  const fault = `  - name: fault
    from: C
    user: x
    connect: z:7
    steps: [{ identd: { host: C, behaviour: down } }, { wait: 5 }]
    cleanup: [{ identd: { host: C, behaviour: truthful } }]
    expect: { reply: rejected }
`;
  const rs = (from: number, n: number) => Array.from({ length: n }, (_, i) => request(from + i)).join('');
  return rs(1, before) + fault + rs(before + 1, after);
}

/** A lab whose probes take a while and record when they start and end (ports name the cases). */
class SlowLab extends FakeLab {
  readonly timeline: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  override async probe(request: ProbeRequest): Promise<ProbeOutcome> {
    const name = request.target.port === 7 ? 'fault' : `r${request.target.port - 1000}`;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.timeline.push(`start ${name} (steps so far: ${this.steps.length})`);
    // Later cases answer sooner, so completion order differs from suite order.
    await new Promise((r) => setTimeout(r, 60 - (request.target.port % 50)));
    this.inFlight--;
    this.timeline.push(`end ${name}`);
    return outcomeOf(91, '', { local: { address: '10.1.0.10', port: 40000 + (request.target.port % 1000) } });
  }
}

const lab = async () =>
  new SlowLab(await seedCascade(), { probe: () => ({ outcome: outcomeOf(91), events: [] }) });

test('request-only cases run up to --jobs at a time, a case with lab steps runs alone between them, results in suite order', async (t) => {
  const cases = await seedCases(suiteText(5, 4));
  t.deepEqual(
    cases.map(changesLab),
    cases.map((c) => c.name === 'fault'),
  );
  const l = await lab();
  const results = await runScheduled({ lab: l, cases, jobs: 3, settleMs: 5 });
  t.deepEqual(
    results.map((r) => r.case.name),
    cases.map((c) => c.name),
  );
  t.is(l.maxInFlight, 3, 'three at a time, never more');
  const at = (what: string) => l.timeline.findIndex((x) => x.startsWith(what));
  const faultStart = at('start fault');
  for (let i = 1; i <= 5; i++)
    t.true(at(`end r${i}`) < faultStart, `r${i} ends before the fault case starts`);
  for (let i = 6; i <= 9; i++)
    t.true(at(`start r${i}`) > at('end fault'), `r${i} starts after the fault case ended`);
  t.regex(
    l.timeline[faultStart]!,
    /steps so far: 1\)/,
    'its step ran after the earlier cases and before its request',
  );
  t.true(
    l.timeline.filter((x) => x.startsWith('start r')).length === 9 &&
      l.timeline.filter((x) => x.includes('(steps so far: 2)')).length === 4,
    'its cleanup ran before any later case',
  );
});

test('--jobs 1 runs every case on its own, in suite order', async (t) => {
  const cases = await seedCases(suiteText(3, 2));
  const l = await lab();
  await runScheduled({ lab: l, cases, jobs: 1, settleMs: 5 });
  t.is(l.maxInFlight, 1);
  t.deepEqual(
    l.timeline.filter((x) => x.startsWith('start')).map((x) => x.split(' ')[1]),
    ['r1', 'r2', 'r3', 'fault', 'r4', 'r5'],
  );
});

test("a shard runs only its cases, and applies another shard's lab steps without its request", async (t) => {
  const cases = await seedCases(suiteText(3, 2));
  const shard = parseShard('2/2');
  const l = await lab();
  const results = await runScheduled({
    lab: l,
    cases,
    jobs: 2,
    settleMs: 5,
    selected: (i) => inShard(i, shard),
  });
  // Suite order r1 r2 r3 fault r4 r5: shard 2 of 2 has positions 1, 3, 5 = r2, fault, r5.
  t.deepEqual(shardPositions(cases.length, shard), [1, 3, 5]);
  t.deepEqual(
    results.map((r) => r.case.name),
    ['r2', 'fault', 'r5'],
  );
  const first = await lab();
  await runScheduled({
    lab: first,
    cases,
    jobs: 2,
    settleMs: 5,
    selected: (i) => inShard(i, parseShard('1/2')),
  });
  t.deepEqual(
    first.timeline.filter((x) => x.startsWith('start')).map((x) => x.split(' ')[1]),
    ['r1', 'r3', 'r4'],
  );
  t.deepEqual(first.steps, ['identd C down', 'identd C truthful'], 'fault steps fast-forwarded in shard 1');
  t.true(
    first.timeline.some((x) => x === 'start r4 (steps so far: 2)'),
    'r4 sees the lab after the fault case, as in the whole suite',
  );
});

test('--shard takes K/N with 1 ≤ K ≤ N and says so otherwise', (t) => {
  t.deepEqual(parseShard('3/4'), { index: 3, count: 4 });
  for (const bad of ['0/4', '5/4', '1/0', '1', 'a/b', '1/2/3', '-1/2']) {
    const err = t.throws(() => parseShard(bad));
    t.regex(err.message, /expected K\/N with 1 ≤ K ≤ N/, bad);
    t.is((err as { code?: string }).code, 'E_SHARD');
  }
});

test('the shards of a suite cover every case exactly once, whatever the suite size', (t) => {
  for (const total of [0, 1, 7, 200, 203]) {
    for (const count of [1, 2, 4, 7]) {
      const all = Array.from({ length: count }, (_, k) =>
        shardPositions(total, { index: k + 1, count }),
      ).flat();
      t.deepEqual(
        all.sort((a, b) => a - b),
        Array.from({ length: total }, (_, i) => i),
      );
    }
  }
});

test('the suite fingerprint changes with the cases and their order, not with anything else', async (t) => {
  const cases = await seedCases(suiteText(2, 1));
  const again = await seedCases(suiteText(2, 1));
  t.is(suiteFingerprint('seed', cases), suiteFingerprint('seed', again));
  t.not(suiteFingerprint('seed', cases), suiteFingerprint('seed', [...cases].reverse()));
  t.not(suiteFingerprint('seed', cases), suiteFingerprint('seed', cases.slice(1)));
  t.not(suiteFingerprint('seed', cases), suiteFingerprint('other', cases));
});
