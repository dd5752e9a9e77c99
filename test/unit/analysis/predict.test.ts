import test from 'ava';
import { checkTopology } from '../../../src/analysis/check.ts';
import { predictRequest } from '../../../src/analysis/predict.ts';
import { LabWorld } from '../../../src/analysis/world.ts';
import type { ProbeRequest } from '../../../src/runtime/runtime.ts';
import { parseScenarioText } from '../../../src/scenario/load.ts';
import { replaceConfigStep, resolveScenario } from '../../../src/scenario/resolve.ts';
import { loadTopologyWithConfigs } from '../../../src/topology/load.ts';
import { projectRoot } from '../../helpers/seed-topology.ts';

async function seedWorld() {
  const { topology, configs } = await loadTopologyWithConfigs(`${projectRoot}topologies/seed-cascade.yaml`);
  return { topology, configs, world: new LabWorld(topology, configs) };
}

const xToZ = (port: number, extra: Partial<ProbeRequest> = {}): ProbeRequest => ({
  from: 'C',
  user: 'x',
  protocol: 'socks4',
  command: 'connect',
  target: { host: 'z', port },
  useSocksConf: true,
  ...extra,
});

test('the seed cascade is predicted hop by hop: B verifies x with identd on C, A permits by ?=n, z is reached', async (t) => {
  const { world } = await seedWorld();
  const p = await predictRequest(world, xToZ(7));
  t.is(p.reply, 90);
  t.deepEqual(p.path, ['C', 'B', 'A', 'z']);
  t.deepEqual(p.clientRoute, { action: 'sockd', line: 1 });
  t.deepEqual(
    p.hops.map((h) => [h.host, h.decision.action, h.decision.line, h.identd?.user ?? null]),
    [
      ['B', 'permit', 2, 'x'],
      ['A', 'permit', 2, null],
    ],
  );
  t.deepEqual(p.hops[0]!.route, {
    action: 'sockd',
    file: 'socks.conf',
    line: 3,
    attempts: [{ server: '10.2.0.1', host: 'A', ok: true }],
  });
});

test('g.7: A asks identd on B, which answers the rsockd owner, so A refuses 93 and C gets 91', async (t) => {
  const { world } = await seedWorld();
  const p = await predictRequest(world, xToZ(80));
  t.is(p.reply, 91);
  t.deepEqual(p.path, ['C', 'B', 'A']);
  const a = p.hops[1]!;
  t.deepEqual(
    [a.decision.line, a.decision.reason, a.identd?.queried, a.identd?.user, a.reply],
    [4, 'identd-mismatch', 'B', 'nobody', 93],
  );
  t.is(p.hops[0]!.reply, 91, 'B never passes 92/93 through (d.8)');
});

test('fault steps change the world the prediction sees: identd down gives 92, a stopped upstream gives 91', async (t) => {
  const { world } = await seedWorld();
  world.apply({ kind: 'identd', host: 'C', behaviour: { kind: 'down' } });
  t.is((await predictRequest(world, xToZ(7))).reply, 92);
  world.apply({ kind: 'identd', host: 'C', behaviour: { kind: 'truthful' } });
  world.apply({ kind: 'stop', host: 'A' });
  const p = await predictRequest(world, xToZ(7));
  t.is(p.reply, 91);
  t.deepEqual(
    p.hops[0]!.route?.attempts.map((a) => [a.host, a.ok]),
    [['A', false]],
  );
  world.apply({ kind: 'start', host: 'A' });
  t.is((await predictRequest(world, xToZ(7))).reply, 90);
});

test('a reloaded config replaces the rules, and a broken one keeps the old rules', async (t) => {
  const { world } = await seedWorld();
  world.apply(replaceConfigStep('B', 'sockd.conf', 'permit ?=Q 0.0.0.0 0.0.0.0\n'));
  t.is((await predictRequest(world, xToZ(7))).reply, 90);
  world.apply(replaceConfigStep('B', 'sockd.conf', '# closed\ndeny 0.0.0.0 0.0.0.0\n'));
  const p = await predictRequest(world, xToZ(7));
  t.is(p.reply, 91);
  t.deepEqual([p.hops[0]!.decision.action, p.hops[0]!.decision.line], ['deny', 2]);
});

test('a network cut between the hops is a failed upstream connect', async (t) => {
  const { world } = await seedWorld();
  world.apply({ kind: 'cut', network: 'dmz' });
  const p = await predictRequest(world, xToZ(7));
  t.is(p.reply, 91);
  t.regex(p.reasoning.join('\n'), /upstream 10\.2\.0\.1 fails: network dmz is cut/);
});

test('check holds each prediction against the case expectations and reports contradictions', async (t) => {
  const { topology, configs } = await seedWorld();
  const text = `# yaml-language-server: $schema=scenario.schema.json
topology: seed-cascade
cases:
  - name: right
    from: C
    user: x
    connect: z:7
    expect: { reply: granted, path: [C, B, A, z], identd: { B: x, A: none } }
  - name: wrong about A
    from: C
    user: x
    connect: z:80
    expect: { reply: granted, rules: [{ host: A, line: 2 }], logs: ["not predicted, not checked"] }
`;
  const scenario = resolveScenario(parseScenarioText(text, 'scenarios/t.yaml'), topology);
  const result = await checkTopology(topology, configs, scenario.cases);
  t.deepEqual(result.cases[0]!.contradictions, []);
  t.deepEqual(
    result.cases[1]!.contradictions.map((f) => [f.what, f.expected, f.actual]),
    [
      ['reply', '90 (granted)', '91 (rejected)'],
      ['rule at A', '*:2', 'deny by sockd.conf:4 (identd-mismatch)'],
    ],
  );
});

test('check puts back the configs a case replaced, as the runner does, unless the case says keep: true', async (t) => {
  const { topology, configs } = await seedWorld();
  const text = (keep: string) => `# yaml-language-server: $schema=scenario.schema.json
topology: seed-cascade
cases:
  - name: B closed for the day
    from: C
    user: x
    connect: z:7
    steps:
      - replaceConfig: { host: B, file: sockd.conf, text: "deny 0.0.0.0 0.0.0.0\\n" }
${keep}    expect: { reply: rejected, path: [C, B] }
  - name: B open again
    from: C
    user: x
    connect: z:7
    expect: { reply: granted, path: [C, B, A, z] }
`;
  const undone = await checkTopology(
    topology,
    configs,
    resolveScenario(parseScenarioText(text(''), 'scenarios/t.yaml'), topology).cases,
  );
  t.deepEqual(
    undone.cases.map((c) => c.contradictions),
    [[], []],
  );
  const kept = await checkTopology(
    topology,
    configs,
    resolveScenario(parseScenarioText(text('    keep: true\n'), 'scenarios/t.yaml'), topology).cases,
  );
  t.deepEqual(
    kept.cases[1]!.contradictions.map((f) => f.what),
    ['reply', 'path'],
  );
});

test('check lints every config a step puts in place, at its line in the scenario file', async (t) => {
  const { topology, configs } = await seedWorld();
  const text = `# yaml-language-server: $schema=scenario.schema.json
topology: seed-cascade
cases:
  - name: B with a dead line
    from: C
    user: x
    connect: z:7
    steps:
      - replaceConfig:
          host: B
          file: sockd.conf
          text: |
            deny 0.0.0.0 0.0.0.0
            permit 10.1.0.0 255.255.255.0
    expect: { reply: rejected }
`;
  const result = await checkTopology(
    topology,
    configs,
    resolveScenario(parseScenarioText(text, 'scenarios/t.yaml'), topology).cases,
  );
  const fromSteps = result.lints.filter((l) => l.file === 'scenarios/t.yaml');
  t.deepEqual(
    fromSteps.map((l) => [l.host, l.code, l.line]),
    [
      ['B', 'shadowed-rule', 14],
      ['B', 'first-hop-no-identd', 14],
    ],
  );
  t.regex(
    fromSteps[0]!.message,
    /^sockd\.conf put in place by case "B with a dead line": line 2 can never match/,
  );
});
