import test from 'ava';
import { traceDot } from '../../../src/diagram/trace-dot.ts';
import { traceSteps } from '../../../src/diagram/trace-steps.ts';
import type { Trace } from '../../../src/scenario/trace.ts';
import { hopLine } from '../../../src/scenario/trace-text.ts';
import { assertGolden } from './golden.ts';
import { seedCascade } from './topologies.ts';
import { grantedWithFailover, refusedByIdentdMismatch } from './traces.ts';

const edgeLine = (dot: string, from: string, to: string, n: number) =>
  dot.split('\n').find((l) => l.startsWith(`  "h:${from}" -> ${to} `) && l.includes(`<B>${n}</B>`)) ?? '';

test('a granted trace with a fail-over draws as its golden DOT', (t) => {
  assertGolden(
    t,
    'seed-cascade.granted.trace.dot',
    traceDot(seedCascade(), grantedWithFailover(), { title: 'granted' }),
  );
});

test('a trace refused on identd draws as its golden DOT', (t) => {
  assertGolden(
    t,
    'seed-cascade.refused.trace.dot',
    traceDot(seedCascade(), refusedByIdentdMismatch(), { title: 'refused' }),
  );
});

test('steps are numbered in the order they happened', (t) => {
  t.deepEqual(
    traceSteps(grantedWithFailover()).map((s) => [s.n, s.kind, s.from, s.to, s.status]),
    [
      [1, 'request', 'C', 'B', 'granted'],
      [2, 'identd', 'B', 'C', 'identd'],
      [3, 'attempt', 'B', '10.2.0.9', 'failed'],
      [4, 'request', 'B', 'A', 'granted'],
      [5, 'destination', 'A', 'Z', 'granted'],
    ],
  );
});

test('granted hops are green and cite the permitting line', (t) => {
  const dot = traceDot(seedCascade(), grantedWithFailover());
  const hop = edgeLine(dot, 'C', '"h:B"', 1);
  t.regex(hop, /color="#15803d"/);
  t.regex(hop, /permit sockd\.conf:2, via server by socks\.conf:2/);
});

test('the refusing hop is red and names file:line', (t) => {
  const dot = traceDot(seedCascade(), refusedByIdentdMismatch());
  const hop = edgeLine(dot, 'B', '"h:A"', 3);
  t.regex(hop, /color="#dc2626"/);
  t.regex(hop, /refused by sockd\.conf:3 \(identd-mismatch\)/);
});

test('identd queries are dashed and labelled with the answer', (t) => {
  const dot = traceDot(seedCascade(), refusedByIdentdMismatch());
  const query = edgeLine(dot, 'A', '"h:B"', 4);
  t.regex(query, /style="dashed"/);
  t.regex(query, /identd on B: says nobody, not x/);
});

test('failed fail-over attempts are grey crossed edges', (t) => {
  const dot = traceDot(seedCascade(), grantedWithFailover());
  const attempt = edgeLine(dot, 'B', '"x:10.2.0.9"', 3);
  t.regex(attempt, /color="#9ca3af"/);
  t.regex(attempt, /arrowhead="tee"/);
  t.regex(attempt, /✗ fail-over: 10\.2\.0\.9 ECONNREFUSED/);
});

test('a socks.conf deny refuses on that hop with the socks.conf line', (t) => {
  const base = grantedWithFailover();
  const first = base.hops[0]!;
  const trace: Trace = {
    ...base,
    hops: [
      {
        ...first,
        route: { action: 'deny', file: 'socks.conf', line: 7, servers: [], attempts: [] },
        reply: 91,
      },
    ],
    path: ['C', 'B'],
    reply: 91,
  };
  const { destination: _unused, ...unreached } = trace;
  const steps = traceSteps(unreached);
  t.deepEqual(
    steps.map((s) => [s.kind, s.status, s.cite]),
    [
      ['request', 'refused', 'socks.conf:7'],
      ['identd', 'identd', undefined],
    ],
  );
});

test('a direct hop that could not reach the destination ends in a red step', (t) => {
  const base = grantedWithFailover();
  const last = base.hops[1]!;
  const { destination: _unused, ...rest } = base;
  const trace: Trace = { ...rest, hops: [base.hops[0]!, { ...last, reply: 91 }], reply: 91 };
  const end = traceSteps(trace).at(-1);
  t.is(end?.kind, 'destination');
  t.is(end?.status, 'refused');
  t.regex(end?.label ?? '', /not reached/);
});

test('hosts the trace did not touch are faded', (t) => {
  const dot = traceDot(seedCascade(), refusedByIdentdMismatch());
  const z = dot.split('\n').find((l) => l.trim().startsWith('"h:Z" [')) ?? '';
  t.regex(z, /color="#cbd5e1"/);
  const b = dot.split('\n').find((l) => l.trim().startsWith('"h:B" [')) ?? '';
  t.regex(b, /color="#b45309"/);
});

test('a fail-over attempt the runner matched to a host is drawn to that host, naming the address', (t) => {
  const base = grantedWithFailover();
  const first = base.hops[0]!;
  const route = first.route!;
  const trace: Trace = {
    ...base,
    hops: [
      {
        ...first,
        route: { ...route, attempts: [{ server: '10.2.0.1', ok: false, error: 'ECONNREFUSED', host: 'A' }] },
      },
    ],
  };
  const attempt = traceSteps(trace).find((s) => s.kind === 'attempt');
  t.is(attempt?.to, 'A');
  t.is(attempt?.label, '✗ fail-over: A (10.2.0.1) ECONNREFUSED');
});

test('a fail-over attempt names the host and the address and port it tried', (t) => {
  const base = grantedWithFailover();
  const first = base.hops[0]!;
  const attempts = [
    { server: 'fw1', host: 'fw1', address: '10.0.0.3', port: 1080, ok: false, error: 'ECONNREFUSED' },
    { server: '10.2.0.9', address: '10.2.0.9', port: 1080, ok: false, error: 'ENETUNREACH' },
    { server: 'nowhere', ok: false, error: 'ENOTFOUND' },
  ];
  const trace: Trace = { ...base, hops: [{ ...first, route: { ...first.route!, attempts } }] };
  t.deepEqual(
    traceSteps(trace)
      .filter((s) => s.kind === 'attempt')
      .map((s) => s.label),
    [
      '✗ fail-over: fw1 (10.0.0.3:1080) ECONNREFUSED',
      '✗ fail-over: 10.2.0.9:1080 ENETUNREACH',
      '✗ fail-over: nowhere ENOTFOUND',
    ],
  );
  t.regex(
    hopLine(trace.hops[0]!),
    /via fw1 \(10\.0\.0\.3:1080\) ✗ ECONNREFUSED, 10\.2\.0\.9:1080 ✗ ENETUNREACH, nowhere ✗ ENOTFOUND/,
  );
});

test("an identd query names a scripted identd's behaviour when it was not truthful", (t) => {
  const base = refusedByIdentdMismatch();
  const first = base.hops[0]!;
  const trace: Trace = {
    ...base,
    hops: [
      {
        ...first,
        decision: { action: 'deny', file: 'sockd.conf', line: 2, reason: 'identd-unavailable' },
        identd: { queried: 'C', answer: null, user: null, verdict: 'unavailable', behaviour: 'down' },
      },
    ],
  };
  t.is(traceSteps(trace).find((s) => s.kind === 'identd')?.label, 'identd on C (down): no answer');
});

test('for a BIND the last step is the application server connecting back to the last hop', (t) => {
  const base = grantedWithFailover();
  const connected = traceSteps({ ...base, command: 'bind' }).at(-1);
  t.deepEqual(
    [connected?.from, connected?.to, connected?.status, connected?.label],
    ['Z', 'A', 'granted', 'Z connected back (bind)'],
  );
  const never = traceSteps({ ...base, command: 'bind', destination: { host: 'Z', reached: false } }).at(-1);
  t.deepEqual([never?.from, never?.to, never?.status], ['Z', 'A', 'refused']);
  t.is(never?.label, 'no connection back from Z (bind)');
});
