import { readFile } from 'node:fs/promises';
import test from 'ava';
import { checkTopology } from '../../../src/analysis/check.ts';
import { type RuleCoverage, ruleCoverage } from '../../../src/analysis/rule-coverage.ts';
import { linesCompared } from '../../../src/policy/first-match.ts';
import { coverageText } from '../../../src/report/coverage-text.ts';
import { loadScenarioFile, parseScenarioText } from '../../../src/scenario/load.ts';
import { resolveScenario } from '../../../src/scenario/resolve.ts';
import type { Trace } from '../../../src/scenario/trace.ts';
import { loadTopologyWithConfigs, parseTopologyText } from '../../../src/topology/load.ts';
import { readMdTables } from '../../helpers/md-table.ts';
import { projectRoot } from '../../helpers/seed-topology.ts';

async function checked(name: string) {
  const { topology, configs } = await loadTopologyWithConfigs(`${projectRoot}topologies/${name}.yaml`);
  const scenario = resolveScenario(
    await loadScenarioFile(`${projectRoot}scenarios/${name}.yaml`, `scenarios/${name}.yaml`),
    topology,
  );
  return { topology, configs, scenario, result: await checkTopology(topology, configs, scenario.cases) };
}

/** `host file (used by):line` → [reached case numbers, decided case numbers]; rule lines only. */
function byLine(c: RuleCoverage, caseNames: readonly string[]): Map<string, [number[], number[]]> {
  const n = (name: string) => caseNames.indexOf(name) + 1;
  const out = new Map<string, [number[], number[]]>();
  for (const h of c.hosts)
    for (const f of h.files)
      for (const l of f.lines.filter((x) => x.rule))
        out.set(`${h.host} ${f.file} ${f.usedBy}:${l.line}`, [l.reached.map(n), l.decided.map(n)]);
  return out;
}

const numbers = (cell: string) => (cell.trim() === '' ? [] : cell.split(',').map((x) => Number(x.trim())));

test('the seed suite covers each config line exactly as the hand-derived table says', async (t) => {
  const { scenario, result } = await checked('seed-cascade');
  const fixture = readMdTables(
    await readFile(`${projectRoot}test/fixtures/coverage/seed-cascade.expect.md`, 'utf8'),
  );
  const [lines, totals] = fixture;
  const names = scenario.cases.map((c) => c.name);
  const got = byLine(result.coverage, names);
  const want = new Map(
    lines!.rows.map((r) => [
      `${r.get('host')} ${r.get('file')} ${r.get('used by')}:${r.get('line')}`,
      [numbers(r.get('reached')), numbers(r.get('decided'))] as [number[], number[]],
    ]),
  );
  // Every rule line of every config is in the table, and nothing else.
  t.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [key, value] of want) t.deepEqual(got.get(key), value, key);
  for (const r of totals!.rows) {
    const host = result.coverage.hosts.find((h) => h.host === r.get('host'));
    t.deepEqual(
      host?.totals,
      {
        rules: Number(r.get('rules')),
        reached: Number(r.get('reached')),
        decided: Number(r.get('decided')),
        never: Number(r.get('never')),
      },
      r.get('host'),
    );
  }
  t.deepEqual(
    result.coverage.never.map((n) => `${n.host} ${n.file}:${n.line}`),
    ['B sockd.conf:3'],
  );
  t.deepEqual(
    result.coverage.uncounted.map((u) => [names.indexOf(u.case) + 1, u.host, u.file, u.line]),
    [[8, 'B', 'sockd.conf', 2]],
  );
});

const planted = `
name: planted
networks: { lan: { subnet: 10.9.0.0/24 }, out: { subnet: 10.8.0.0/24 } }
hosts:
  c:
    role: client
    addresses: { lan: 10.9.0.10 }
    users: { x: 1001, y: 1002 }
    socks.conf: |
      # the probe's own routing
      sockd @=10.9.0.1 0.0.0.0 0.0.0.0
      deny 0.0.0.0 0.0.0.0
  s:
    role: sockd
    addresses: { lan: 10.9.0.1, out: 10.8.0.1 }
    server:
      sockd.conf: |
        permit *=x 10.9.0.0 255.255.255.0 10.8.0.0 255.255.255.0 eq 7
        # planted: only y, whom no case names
        permit *=y 10.9.0.0 255.255.255.0
        deny 0.0.0.0 0.0.0.0
  e:
    role: echo
    addresses: { out: 10.8.0.5 }
    echo: [7, 9]
`;

const plantedCases = `
topology: planted
cases:
  - name: x to the echo port
    from: c
    user: x
    connect: e:7
    expect: { reply: granted }
  - name: x to the discard port
    from: c
    user: x
    connect: e:9
    expect: { reply: rejected }
`;

test('a line no case reaches is listed with its file and line, and one only reached but never deciding is not', async (t) => {
  const { topology, configs } = await parseTopologyText(planted, `${projectRoot}topologies/planted.yaml`);
  const scenario = resolveScenario(parseScenarioText(plantedCases, 'planted.scenario.yaml'), topology);
  const { coverage } = await checkTopology(topology, configs, scenario.cases, 'planted.yaml');
  // Port 9: line 1 fails on the port, line 3 (y) on the user, line 4 decides: all three reached.
  const s = coverage.hosts.find((h) => h.host === 's')!.files[0]!;
  t.deepEqual(
    s.lines.filter((l) => l.rule).map((l) => [l.line, l.reached.length, l.decided.length]),
    [
      [1, 2, 1],
      [3, 1, 0],
      [4, 1, 1],
    ],
  );
  // The probe's `deny` line after a `sockd` that matches everything is never compared.
  t.deepEqual(
    coverage.never.map(
      (n) => `${n.host} ${n.file}${n.usedBy === 'probe' ? ' (probe)' : ''}:${n.line} ${n.text}`,
    ),
    ['c socks.conf (probe):3 deny 0.0.0.0 0.0.0.0'],
  );
  t.deepEqual(coverage.totals, { rules: 5, reached: 4, decided: 3, never: 1 });
  const text = coverageText(coverage).join('\n');
  t.regex(text, /never reached:\n {4}c socks\.conf \(probe\):3 {2}deny 0\.0\.0\.0 0\.0\.0\.0/);
  t.is(s.origin, 'planted.yaml:18');
});

test('a sockd.route line counts when a BIND chooses that interface, and each line before it is reached', async (t) => {
  const { scenario, result } = await checked('multihomed-bind');
  const route = result.coverage.hosts
    .find((h) => h.host === 'fw')!
    .files.find((f) => f.file === 'sockd.route')!;
  const rows = route.lines.filter((l) => l.rule);
  const names = scenario.cases.map((c) => c.name);
  const ftp = names.find((n) => n.startsWith('BIND for the FTP server'))!;
  const mirror = names.find((n) => n.startsWith('BIND for the dmz mirror'))!;
  // ftp (192.0.2.21) falls through the inside and dmz lines to the default line 4.
  t.true(rows[2]!.decided.includes(ftp));
  t.true(rows[0]!.reached.includes(ftp) && rows[1]!.reached.includes(ftp));
  t.false(rows[0]!.decided.includes(ftp));
  // the mirror (172.16.0.50) is decided by the dmz line 3 and never compared with line 4.
  t.true(rows[1]!.decided.includes(mirror));
  t.false(rows[2]!.reached.includes(mirror));
});

test('first-match order: the lines compared are those up to the deciding one, or all when none matched', (t) => {
  const lines = [{ line: 2 }, { line: 5 }, { line: 9 }];
  t.deepEqual(linesCompared(lines, 5), [{ line: 2 }, { line: 5 }]);
  t.deepEqual(linesCompared(lines, null), lines);
  t.deepEqual(linesCompared(lines, 7), []);
});

test('a route shortcut compares no line, while a route deny without a line compared them all', async (t) => {
  const { topology, configs } = await parseTopologyText(planted, `${projectRoot}topologies/planted.yaml`);
  const scenario = resolveScenario(parseScenarioText(plantedCases, 'planted.scenario.yaml'), topology);
  const base = scenario.cases[0]!;
  const trace = (clientRoute: Trace['clientRoute']): Trace => ({
    origin: { host: 'c', user: 'x' },
    target: { host: 'e', port: 7 },
    protocol: 'socks4',
    command: 'connect',
    hops: [],
    path: ['c'],
    reply: null,
    ...(clientRoute ? { clientRoute } : {}),
  });
  const cov = ruleCoverage(
    topology,
    configs,
    [
      { case: { ...base, name: 'direct shortcut' }, trace: trace({ action: 'direct', line: null }) },
      { case: { ...base, name: 'no line matched' }, trace: trace({ action: 'deny', line: null }) },
    ],
    'observed',
  );
  const probe = cov.hosts.find((h) => h.host === 'c')!.files[0]!;
  t.deepEqual(
    probe.lines.filter((l) => l.rule).map((l) => [l.line, l.reached, l.decided]),
    [
      [2, ['no line matched'], []],
      [3, ['no line matched'], []],
    ],
  );
});

test('a BIND that found no sockd.route line was compared with every line of it', async (t) => {
  const { topology, configs } = await loadTopologyWithConfigs(
    `${projectRoot}topologies/multihomed-bind.yaml`,
  );
  const scenario = resolveScenario(
    await loadScenarioFile(`${projectRoot}scenarios/multihomed-bind.yaml`, 'scenarios/multihomed-bind.yaml'),
    topology,
  );
  const base = scenario.cases.find((c) => c.steps.length === 0)!;
  const trace: Trace = {
    origin: { host: 'C', user: 'x' },
    target: { host: 'ftp', port: 21 },
    protocol: 'socks4',
    command: 'bind',
    hops: [
      {
        host: 'fw',
        service: 'sockd',
        session: '1',
        client: { address: '10.3.0.10', port: 40000 },
        from: 'C',
        user: 'x',
        decision: { action: 'permit', file: 'sockd.conf', line: 1, reason: 'rule' },
        iface: { address: null, file: null, line: null },
        reply: 91,
        commands: [],
        logs: [],
      },
    ],
    path: ['C', 'fw'],
    reply: 91,
  };
  const cov = ruleCoverage(topology, configs, [{ case: { ...base, name: 'no route' }, trace }], 'observed');
  const route = cov.hosts.find((h) => h.host === 'fw')!.files.find((f) => f.file === 'sockd.route')!;
  t.deepEqual(
    route.lines.filter((l) => l.rule).map((l) => [l.line, l.reached, l.decided]),
    [
      [2, ['no route'], []],
      [3, ['no route'], []],
      [4, ['no route'], []],
    ],
  );
});

const replacedThenPutBack = `
topology: planted
cases:
  - name: with s's sockd.conf replaced, x is refused by the new text
    from: c
    user: x
    connect: e:7
    steps:
      - replaceConfig: { host: s, file: sockd.conf, text: "deny 0.0.0.0 0.0.0.0\\n", reloaded: true }
    expect: { reply: rejected }
  - name: put back after that case, the original first line grants x again
    from: c
    user: x
    connect: e:7
    expect: { reply: granted }
`;

test('a config a case replaced without keep is put back for coverage too: the next case counts against the original lines', async (t) => {
  const { topology, configs } = await parseTopologyText(planted, `${projectRoot}topologies/planted.yaml`);
  const scenario = resolveScenario(
    parseScenarioText(replacedThenPutBack, 'put-back.scenario.yaml'),
    topology,
  );
  const { coverage, cases } = await checkTopology(topology, configs, scenario.cases, 'planted.yaml');
  t.deepEqual(
    cases.map((c) => c.prediction.reply),
    [91, 90],
  );
  // Only the first case decided under a replaced text; the second is counted at s sockd.conf:1.
  t.deepEqual(
    coverage.uncounted.map((u) => [u.case, u.host, u.file, u.line]),
    [[scenario.cases[0]!.name, 's', 'sockd.conf', 1]],
  );
  const s = coverage.hosts.find((h) => h.host === 's')!.files.find((f) => f.file === 'sockd.conf')!;
  t.deepEqual(s.lines.find((l) => l.line === 1)?.decided, [scenario.cases[1]!.name]);
});
