import test from 'ava';
import type { LabEvent } from '../../../src/common/events.ts';
import {
  AgentEvents,
  fixedAddressHost,
  followProbe,
  reloadResult,
  uidOf,
} from '../../../src/runtime/agent-lab.ts';
import type { DialRequest } from '../../../src/runtime/agent-protocol.ts';
import type { HostModel } from '../../../src/topology/model.ts';

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
