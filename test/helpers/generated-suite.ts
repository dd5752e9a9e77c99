import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freezeClasses, renderFrozen } from '../../src/analysis/freeze.ts';
import { LabWorld } from '../../src/analysis/world.ts';
import { type GeneratedOptions, generatedTopology, generatedTopologyText } from './generated-topology.ts';

/**
 * A generated scenario suite of any size over the generated topology (generated-topology.ts), for
 * the sharding tests and the cases-per-minute benchmark: request cases are rows of what
 * `sockslab freeze` writes for the topology — one per request class, with every expectation the
 * configs give — taken evenly over every origin and protocol, only towards hosts that exist (no
 * connect waits on an address nobody answers). Between two halves of them sits a file of fault
 * cases (identd down, a config replaced and put back, the backup edge stopped and started), so a
 * run has barriers among its request-only cases and a shard has steps of other shards to follow.
 *
 * Files, beside each other so `sockslab run DIR/generated.yaml` finds the scenarios:
 *   generated.yaml, a-requests.scenario.yaml, b-faults.scenario.yaml, c-requests.scenario.yaml
 */

export interface GeneratedSuite {
  readonly topologyFile: string;
  /** Cases in the suite (request rows plus the fault cases). */
  readonly cases: number;
}

const faults = `# yaml-language-server: $schema=scenario.schema.json
topology: generated
defaults: { timeout: 5s }
cases:
  - name: with ws1-1's identd down dept1 refuses alice1
    from: ws1-1
    user: alice1
    connect: www1:80
    steps: [{ identd: { host: ws1-1, behaviour: down } }]
    cleanup: [{ identd: { host: ws1-1, behaviour: truthful } }]
    expect: { path: [ws1-1, dept1], reached: false }
  - name: mid1 told to deny everything refuses what dept1 passes on
    from: ws1-1
    user: alice1
    connect: www1:80
    steps:
      - replaceConfig: { host: mid1, file: sockd.conf, text: "deny 0.0.0.0 0.0.0.0\\n", reloaded: true }
    expect: { path: [ws1-1, dept1, mid1], reached: false, rules: [{ host: mid1, line: 1, action: deny }] }
  - name: with edge1 and the backup edge both down mid1 has no way out
    from: ws1-1
    user: alice1
    connect: www1:80
    steps: [{ stop: edge-backup }]
    cleanup: [{ start: edge-backup }]
    expect: { path: [ws1-1, dept1, mid1], reached: false }
`;

export async function writeGeneratedSuite(
  dir: string,
  requestCases: number,
  options: GeneratedOptions = {},
): Promise<GeneratedSuite> {
  await mkdir(dir, { recursive: true });
  const { topology, configs } = await generatedTopology(options);
  const topologyFile = join(dir, 'generated.yaml');
  await writeFile(topologyFile, generatedTopologyText(options));
  const frozen = await freezeClasses(new LabWorld(topology, configs), topologyFile);
  const addresses = new Set(topology.hosts.flatMap((h) => h.interfaces.map((i) => i.address)));
  const names = new Set(topology.hosts.map((h) => h.name));
  const real = frozen.cases.filter(
    (c) => c.writable && (addresses.has(c.cls.witness.target.host) || names.has(c.cls.witness.target.host)),
  );
  if (real.length < requestCases) throw new Error(`only ${real.length} request classes to pick from`);
  const step = real.length / requestCases;
  const picked = Array.from({ length: requestCases }, (_, i) => real[Math.floor(i * step)]!);
  const half = Math.ceil(picked.length / 2);
  await writeFile(
    join(dir, 'a-requests.scenario.yaml'),
    renderFrozen({ ...frozen, cases: picked.slice(0, half) }),
  );
  await writeFile(join(dir, 'b-faults.scenario.yaml'), faults);
  await writeFile(
    join(dir, 'c-requests.scenario.yaml'),
    renderFrozen({ ...frozen, cases: picked.slice(half) }),
  );
  return { topologyFile, cases: requestCases + 3 };
}
