import test from 'ava';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { LabEvent } from '../../../src/common/events.ts';
import { ServerTotalsFold, serverTotalsFromEvents } from '../../../src/common/server-totals.ts';
import { ServerMetrics } from '../../../src/server/metrics.ts';

const at = { t: 0, service: 'rsockd' as const };
const ep = { address: '10.1.0.10', port: 40000 };

function request(session: string, version: 4 | 5 = 4): LabEvent {
  return {
    ...at,
    session,
    type: 'request',
    client: ep,
    local: { address: '10.1.0.1', port: 1080 },
    version,
    command: 'connect',
    dst: { host: '10.2.0.1', port: 7 },
    user: 'x',
  };
}
function attempt(session: string, server: string, ok: boolean): LabEvent {
  return { ...at, session, type: 'upstream-attempt', server, address: '10.2.0.1', port: 1080, ok };
}
function reply(session: string, code: number, version: 4 | 5 = 4): LabEvent {
  return { ...at, session, type: 'reply', version, code, phase: 'only' };
}
function close(session: string, fromClient: number, fromRemote: number): LabEvent {
  return {
    ...at,
    session,
    type: 'close',
    bytesFromClient: fromClient,
    bytesFromRemote: fromRemote,
    durationMs: 1,
    reason: 'done',
  };
}

/**
 * Two sessions: s1 fails over twice (A fails, B fails, C answers) and is granted; s2 is denied by
 * line 1 after identd answered with another user; an attempt after s1 closed is no failover.
 */
const events: readonly LabEvent[] = [
  request('s1'),
  { ...at, session: 's1', type: 'identd', verdict: 'confirmed' } as LabEvent,
  {
    ...at,
    session: 's1',
    type: 'decision',
    action: 'permit',
    reason: 'rule',
    rule: { file: 'sockd.conf', line: 2 },
  } as LabEvent,
  attempt('s1', 'A', false),
  attempt('s1', 'B', false),
  attempt('s1', 'C', true),
  reply('s1', 90),
  request('s2', 5),
  { ...at, session: 's2', type: 'identd', verdict: 'mismatch' } as LabEvent,
  {
    ...at,
    session: 's2',
    type: 'decision',
    action: 'deny',
    reason: 'rule',
    rule: { file: 'sockd.conf', line: 1 },
  } as LabEvent,
  reply('s2', 2, 5),
  close('s2', 10, 0),
  close('s1', 300, 4000),
  attempt('s1', 'D', false),
  attempt('s1', 'E', true),
];

test("a server's totals count sessions, replies by code, decisions, identd verdicts, attempts, failovers within a session and bytes", (t) => {
  const fold = new ServerTotalsFold();
  for (const e of events) fold.add(e);
  t.deepEqual(fold.totals(), {
    sessions: 2,
    replies: { '2': 1, '90': 1 },
    permitted: 1,
    denied: 1,
    identd: { confirmed: 1, mismatch: 1 },
    upstreamAttempts: 5,
    upstreamFailovers: 2,
    bytesFromClient: 310,
    bytesFromRemote: 4000,
  });
});

test('the totals for reports are the sums of what --metrics exposes for the same events', async (t) => {
  const metrics = new ServerMetrics();
  const fold = new ServerTotalsFold();
  for (const e of events) {
    metrics.emit(e);
    fold.add(e);
  }
  const totals = fold.totals();
  const families = parsePrometheusTextFormat(await metrics.text());
  const sum = (name: string, where: (labels: Record<string, string>) => boolean = () => true) =>
    (families.find((f) => f.name === name)?.metrics ?? [])
      .filter((m) => where(m.labels ?? {}))
      .reduce((n, m) => n + Number(m.value), 0);
  t.is(totals.sessions, sum('rsockd_sessions_total'));
  t.is(
    totals.permitted,
    sum('rsockd_decisions_total', (l) => l.action === 'permit'),
  );
  t.is(
    totals.denied,
    sum('rsockd_decisions_total', (l) => l.action === 'deny'),
  );
  t.is(totals.upstreamAttempts, sum('rsockd_upstream_attempts_total'));
  t.is(totals.upstreamFailovers, sum('rsockd_upstream_failovers_total'));
  t.is(
    totals.bytesFromClient,
    sum('rsockd_bytes_total', (l) => l.direction === 'from_client'),
  );
  t.is(
    totals.bytesFromRemote,
    sum('rsockd_bytes_total', (l) => l.direction === 'from_remote'),
  );
  for (const [code, n] of Object.entries(totals.replies))
    t.is(
      n,
      sum('rsockd_replies_total', (l) => l.code === code),
      `reply ${code}`,
    );
  for (const [verdict, n] of Object.entries(totals.identd))
    t.is(
      n,
      sum('rsockd_identd_total', (l) => l.verdict === verdict),
      `identd ${verdict}`,
    );
});

test("a lab's event stream gives totals per host that runs a server, and none for other hosts", async (t) => {
  const tagged = [
    ...events.map((e) => ({ ...e, host: 'B' })),
    { ...request('s9'), host: 'A' },
    { ...request('s9'), host: 'C' },
  ] as LabEvent[];
  const totals = await serverTotalsFromEvents(tagged, [
    { name: 'A', server: {} },
    { name: 'B', server: {} },
    { name: 'C' },
  ]);
  t.deepEqual(Object.keys(totals).sort(), ['A', 'B']);
  t.is(totals.B?.sessions, 2);
  t.is(totals.B?.upstreamFailovers, 2);
  t.is(totals.A?.sessions, 1);
  t.is(totals.A?.upstreamAttempts, 0);
});
