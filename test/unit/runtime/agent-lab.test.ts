import test from 'ava';
import type { LabEvent } from '../../../src/common/events.ts';
import {
  AgentEvents,
  fixedAddressHost,
  followProbe,
  probeThroughAgent,
  reloadResult,
  uidOf,
} from '../../../src/runtime/agent-lab.ts';
import type { ProberPool } from '../../../src/runtime/agent-prober.ts';
import type { AgentLine, DialRequest } from '../../../src/runtime/agent-protocol.ts';
import type { ProbeOutcome, ProbeRequest } from '../../../src/runtime/runtime.ts';
import type { HostModel, ResolvedTopology } from '../../../src/topology/model.ts';

const model = {
  name: 'B',
  users: [
    { name: 'root', uid: 0 },
    { name: 'alice', uid: 1001 },
  ],
  interfaces: [
    { network: 'lan', address: '10.1.0.1' },
    { network: 'dmz', address: '10.2.0.2' },
  ],
} as unknown as HostModel;

const event = (t: number): LabEvent =>
  ({
    t,
    host: 'B',
    service: 'echo',
    type: 'echo',
    peer: { address: '10.1.0.9', port: 1 },
    local: { address: '10.1.0.1', port: 7 },
    kind: 'echo',
    bytes: 1,
  }) as LabEvent;

test('a fixed-address host reaches its port at its topology address, and names a missing network', (t) => {
  const h = fixedAddressHost(model);
  t.is(h.address(), '10.1.0.1');
  t.deepEqual(h.reach(1080, 'dmz'), { address: '10.2.0.2', port: 1080 });
  t.is('running' in h, false);
  const error = t.throws(() => h.address('wan'));
  t.regex(error?.message ?? '', /host B has no interface on wan/);
});

test('a fixed-address host with a running test reports it live', (t) => {
  let up = true;
  const h = fixedAddressHost(model, () => up);
  t.true(h.running);
  up = false;
  t.false(h.running);
});

test('a user of a host has its uid; another user is an input error listing the users', (t) => {
  t.is(uidOf(model, 'alice'), 1001);
  const error = t.throws(() => uidOf(model, 'mallory'));
  t.regex(error?.message ?? '', /user mallory is not a user of host B; users: root, alice/);
});

test('agent events are kept in order, marked, and passed to subscribers until they leave', (t) => {
  const seen: LabEvent[] = [];
  const log = new AgentEvents();
  log.record(event(1));
  const mark = log.length;
  const leave = log.subscribe({ emit: (e) => seen.push(e) });
  log.record(event(2));
  leave();
  log.record(event(3));
  t.deepEqual(
    log.since(mark).map((e) => e.t),
    [2, 3],
  );
  t.deepEqual(
    seen.map((e) => e.t),
    [2],
  );
  t.is(log.list().length, 3);
});

test('following a BIND probe records events, keeps the outcome and has the peer dial the bound address', async (t) => {
  const recorded: LabEvent[] = [];
  const dials: [string, string, DialRequest][] = [];
  const follow = followProbe(
    {
      from: 'C',
      user: 'alice',
      protocol: 'socks4',
      command: 'bind',
      target: { host: '10.2.0.1', port: 21 },
      bindPeer: { from: 'A' },
      timeoutMs: 900,
    },
    (e) => recorded.push(e),
    async (from, user, r) => void dials.push([from, user, r]),
  );
  follow.onLine({ k: 'event', e: event(5) });
  follow.onLine({ k: 'bound', bound: { address: '10.2.0.2', port: 4000 } });
  follow.onLine({ k: 'outcome', outcome: { reply: 90, protocol: 'socks4', received: '', durationMs: 3 } });
  await follow.finished();
  t.is(recorded.length, 1);
  t.is(follow.outcome()?.reply, 90);
  t.deepEqual(dials, [
    ['A', 'root', { host: '10.2.0.2', port: 4000, send: 'hello from A\n', timeoutMs: 900, idleMs: 500 }],
  ]);
});

test('a config reply says whether the server reloaded, with the refusal when it did not', (t) => {
  t.deepEqual(reloadResult({ ok: true, reloaded: true }), { reloaded: true });
  t.deepEqual(reloadResult({ ok: true, reloaded: false, error: 'sockd.conf:2: bad' }), {
    reloaded: false,
    error: 'sockd.conf:2: bad',
  });
  t.deepEqual(reloadResult({ ok: true }), { reloaded: false });
});

/** The probe's first hop on B: a session of B's rsockd whose client is the probe's own socket. */
const probeLocal = { address: '10.1.0.10', port: 40000 };
const hopRequest = {
  t: 1,
  host: 'B',
  service: 'rsockd',
  session: '1',
  type: 'request',
  client: probeLocal,
  local: { address: '10.1.0.1', port: 1080 },
  version: 4,
  command: 'connect',
  dst: { host: '10.2.0.1', port: 7 },
  user: 'x',
} as LabEvent;
const hopClose = {
  t: 2,
  host: 'B',
  service: 'rsockd',
  session: '1',
  type: 'close',
  bytesFromClient: 0,
  bytesFromRemote: 0,
  durationMs: 1,
  reason: 'done',
} as LabEvent;
const granted: ProbeOutcome = {
  reply: 90,
  protocol: 'socks4',
  received: '',
  local: probeLocal,
  durationMs: 1,
};
const noHosts = { hosts: [] } as unknown as ResolvedTopology;

test("settling after a probe waits until its first hop's session has closed", async (t) => {
  const log = new AgentEvents();
  log.record(hopRequest);
  let settled = false;
  const settling = log.settle(0, noHosts, granted, { maxMs: 60_000, quietMs: 10 }).then(() => {
    settled = true;
  });
  await new Promise((r) => setTimeout(r, 100));
  t.false(settled, 'the session is still open');
  log.record(hopClose);
  await settling;
  t.true(settled);
});

const request: ProbeRequest = {
  from: 'C',
  user: 'x',
  protocol: 'socks4',
  command: 'connect',
  target: { host: 'A', port: 7 },
  timeoutMs: 2_000,
};

/** A prober that prints `lines` for a probe and says with what it was called. */
function fakeProbers(lines: readonly AgentLine[]) {
  const calls: { host: string; uid: number; timeoutMs: number }[] = [];
  const probers = {
    async probe(
      host: string,
      uid: number,
      _r: ProbeRequest,
      onLine: (l: AgentLine) => void,
      timeoutMs: number,
    ) {
      calls.push({ host, uid, timeoutMs });
      for (const l of lines) onLine(l);
    },
  } as unknown as ProberPool;
  return { probers, calls };
}

/** What probeThroughAgent gets from a lab: these probers, a lab without hosts and short settling. */
const agentDeps = (probers: ReturnType<typeof fakeProbers>['probers'], log = new AgentEvents()) => ({
  log,
  probers,
  topology: noHosts,
  dial: async () => undefined,
  slackMs: 15_000,
  settle: { maxMs: 60_000, quietMs: 10 },
});

test("a probe through a host's prober records its events, settles on them and returns its outcome", async (t) => {
  const log = new AgentEvents();
  const { probers, calls } = fakeProbers([
    { k: 'event', e: hopRequest },
    { k: 'event', e: hopClose },
    { k: 'outcome', outcome: granted },
  ]);
  t.deepEqual(await probeThroughAgent(agentDeps(probers, log), request, 1001), granted);
  t.deepEqual(calls, [{ host: 'C', uid: 1001, timeoutMs: 17_000 }]);
  t.deepEqual(log.list(), [hopRequest, hopClose]);
});

test('a probe whose prober printed no outcome comes back without one', async (t) => {
  const { probers } = fakeProbers([{ k: 'event', e: hopRequest }]);
  t.is(await probeThroughAgent(agentDeps(probers), request, 0), undefined);
});
