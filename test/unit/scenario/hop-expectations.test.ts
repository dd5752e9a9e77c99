import test from 'ava';
import { checkExpectations } from '../../../src/scenario/expect.ts';
import { parseScenarioText } from '../../../src/scenario/load.ts';
import { resolveScenario } from '../../../src/scenario/resolve.ts';
import type { Trace, TraceHop } from '../../../src/scenario/trace.ts';
import { loadSplitDns } from '../../helpers/split-dns.ts';

/** `hops:` expectations: destination form and resolver, claimed and real user, BIND per hop. */

const header = '# yaml-language-server: $schema=scenario.schema.json\ntopology: split-dns\ncases:\n';

async function resolveText(cases: string) {
  const { topology } = await loadSplitDns();
  return resolveScenario(parseScenarioText(header + cases, 'scenarios/t.yaml'), topology);
}

const deep = `  - name: deep
    from: C
    user: x
    protocol: socks4a
    connect: db.internal:7
    expect:
      hops:
        B: { received: name, name: db.internal, address: null, resolvedBy: D, claimed: x, realUser: x }
        D: { bound: 10.4.0.1, secondReply: granted, sockdRoute: { line: 1, text: "10.4.0.0" } }
`;

const hop = (host: string, extra: Partial<TraceHop>): TraceHop => ({
  host,
  service: 'rsockd',
  session: '1',
  client: { address: '10.1.0.10', port: 40000 },
  from: 'C',
  user: 'x',
  decision: { action: 'permit', file: 'sockd.conf', line: 1, reason: 'rule' },
  reply: 90,
  commands: [],
  logs: [],
  ...extra,
});

const trace = (hops: TraceHop[]): Trace => ({
  origin: { host: 'C', user: 'x' },
  target: { host: 'db.internal', port: 7 },
  protocol: 'socks4a',
  command: 'connect',
  hops,
  path: ['C', ...hops.map((h) => h.host)],
  reply: 90,
});

test('hops: expectations resolve per hop, with reply names and null for "unresolvable here"', async (t) => {
  const [c] = (await resolveText(deep)).cases;
  t.deepEqual(c!.expect.hops, [
    {
      host: 'B',
      received: 'name',
      name: 'db.internal',
      address: null,
      resolvedBy: 'D',
      claimed: 'x',
      realUser: 'x',
    },
    { host: 'D', bound: '10.4.0.1', secondReply: 90, sockdRoute: { line: 1, text: '10.4.0.0' } },
  ]);
});

test('a hop record that matches passes; each field that differs is its own failure', async (t) => {
  const [c] = (await resolveText(deep)).cases;
  const good = trace([
    hop('B', {
      realUser: 'x',
      destination: { received: 'name', name: 'db.internal', address: null, resolvedBy: 'D' },
    }),
    hop('D', {
      bound: { address: '10.4.0.1', port: 4242 },
      secondReply: 90,
      iface: { address: '10.4.0.1', file: 'sockd.route', line: 1, text: '10.4.0.1 10.4.0.0 255.255.255.0' },
    }),
  ]);
  const outcome = { reply: 90, received: '', protocol: 'socks4a' as const, durationMs: 1 };
  t.deepEqual(checkExpectations(c!.expect, { outcome, trace: good }, 'socks4a'), []);
  const bad = trace([
    hop('B', {
      user: 'y',
      realUser: 'y',
      destination: { received: 'name', name: 'db.internal', address: '10.4.0.30', resolvedBy: 'B' },
    }),
    hop('D', {
      bound: { address: '10.3.0.2', port: 4242 },
      secondReply: 91,
      iface: { address: '10.3.0.2', file: 'sockd.route', line: 2, text: '10.3.0.2 0.0.0.0 0.0.0.0' },
    }),
  ]);
  const what = checkExpectations(c!.expect, { outcome, trace: bad }, 'socks4a').map((f) => f.what);
  t.deepEqual(what, [
    'destination address at B',
    'name resolved by (seen at B)',
    'claimed user at B',
    'real user at B',
    'second reply at D',
    'BIND bound address at D',
    'sockd.route line at D',
  ]);
});

test('a hops: name other than the case destination, or a host the topology lacks, is an error with line:col', async (t) => {
  const wrongName = await t.throwsAsync(resolveText(deep.replace('name: db.internal,', 'name: db.intern,')));
  t.regex(
    wrongName!.message,
    /scenarios\/t\.yaml: cases\[0\]\.expect\.hops\.B\.name \(11:\d+\): unknown name "db\.intern": this case's destination is db\.internal/,
  );
  const wrongHost = await t.throwsAsync(resolveText(deep.replace('        D: {', '        Q: {')));
  t.regex(wrongHost!.message, /cases\[0\]\.expect\.hops\.Q \(12:\d+\): unknown host "Q"/);
  const badAddress = await t.throwsAsync(resolveText(deep.replace('bound: 10.4.0.1', 'bound: vault')));
  t.regex(badAddress!.message, /hops\.D\.bound \(12:\d+\): "vault" is not a dotted IPv4 address/);
  const badKey = t.throws(() =>
    parseScenarioText(header + deep.replace('realUser: x', 'real: x'), 'scenarios/t.yaml'),
  );
  t.regex(badKey!.message, /hops\.B.*11:\d+/);
});
