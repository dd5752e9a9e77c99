import test from 'ava';
import { generateMutants } from '../../../src/analysis/mutants.ts';
import { judgeMutants } from '../../../src/analysis/mutate.ts';
import { classWitnessSource } from '../../../src/analysis/mutate-witnesses.ts';
import { suggestedYaml } from '../../../src/report/mutate-text.ts';
import { parseScenarioText } from '../../../src/scenario/load.ts';
import { resolveScenario } from '../../../src/scenario/resolve.ts';
import { parseTopologyText } from '../../../src/topology/load.ts';

/** ?=I and ?=i differ only when identd cannot answer: the witness must bring that fault along. */
const topology = `
name: strict-identd
networks:
  lan: { subnet: 10.1.0.0/24 }
hosts:
  C:
    role: client
    addresses: { lan: 10.1.0.10 }
    users: { alice: 1001 }
    identd: truthful
    socks.conf: |
      sockd @=10.1.0.1 ALL
  S:
    role: sockd
    addresses: { lan: 10.1.0.1 }
    echo: [7]
    server:
      user: root
      sockd.conf: |
        permit ?=I *=alice 10.1.0.0 255.255.255.0 eq 7
`;
const scenario = `
topology: strict-identd
cases:
  - name: alice reaches S's echo port
    from: C
    user: alice
    connect: S:7
    expect: { reply: granted, rules: [{ host: S, line: 1, action: permit }], identd: { S: alice } }
`;

test('a weaker identd mode survives a suite that never takes identd away, and its case does', async (t) => {
  const design = await parseTopologyText(topology, '/virtual/strict-identd.yaml');
  const { cases } = resolveScenario(
    parseScenarioText(scenario, 'strict-identd.scenario.yaml'),
    design.topology,
  );
  const mutants = generateMutants(design).filter((m) => m.operator === 'identd');
  t.deepEqual(
    mutants.map((m) => m.id),
    ['S sockd.conf:1 identd ?=i'],
  );
  const run = await judgeMutants(design, cases, mutants, { witnesses: classWitnessSource() });
  const v = run.verdicts[0]!;
  t.is(v.status, 'survived');
  if (v.status !== 'survived' || !v.suggested) return;
  t.deepEqual(v.suggested.witness.steps, [{ kind: 'identd', host: 'C', behaviour: { kind: 'down' } }]);
  t.deepEqual(v.suggested.witness.cleanup, [{ kind: 'identd', host: 'C', behaviour: { kind: 'truthful' } }]);
  t.is(v.suggested.case.expect.reply, 92);
  // The printed case carries the fault steps and kills the mutant once it is in the suite.
  const yaml = suggestedYaml(v.suggested);
  t.regex(yaml, /steps:\n\s+- identd: \{host: C, behaviour: down\}/);
  const [added] = resolveScenario(
    parseScenarioText(`topology: strict-identd\ncases:\n${yaml}\n`, 'added.yaml'),
    design.topology,
  ).cases;
  const again = await judgeMutants(design, [...cases, added!], mutants);
  t.is(again.verdicts[0]!.status, 'killed');
});
