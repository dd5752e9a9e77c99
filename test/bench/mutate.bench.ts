/**
 * `sockslab mutate` at scale (issue 14 item 5): every config mutant of the generated 50-host
 * topology judged against a generated suite, equivalence decided over request classes. Prints
 * the figures; the goal is at least 100 mutants in under 30 s. Not a test: nothing here fails.
 *
 *   node --import=tsx test/bench/mutate.bench.ts
 */
import { performance } from 'node:perf_hooks';
import { generateMutants } from '../../src/analysis/mutants.ts';
import { judgeMutants } from '../../src/analysis/mutate.ts';
import { classWitnessSource } from '../../src/analysis/mutate-witnesses.ts';
import { predictRequest } from '../../src/analysis/predict.ts';
import { expectationPieces, mergeExpectations, witnessCase } from '../../src/analysis/witness-case.ts';
import { LabWorld } from '../../src/analysis/world.ts';
import type { ProbeRequest } from '../../src/runtime/runtime.ts';
import type { ScenarioCase } from '../../src/scenario/model.ts';
import { generatedTopology } from '../helpers/generated-topology.ts';

const design = await generatedTopology();
const world = new LabWorld(design.topology, design.configs);

/**
 * A regression suite as a team would freeze it: from two clients of every department (one with
 * a faulty identd), staff and admin users to web, TLS, echo and a dmz service, each case
 * expecting the reply, the path and every hop's deciding line the design gives today.
 */
async function suite(): Promise<ScenarioCase[]> {
  const cases: ScenarioCase[] = [];
  const departments = design.topology.hosts.filter((h) => /^dept\d+$/.test(h.name)).length;
  for (let d = 1; d <= departments; d++) {
    for (const client of [`ws${d}-1`, `ws${d}-2`]) {
      for (const user of [`alice${d}`, `admin${d}`]) {
        for (const [host, port] of [
          ['www1', 80],
          ['www1', 443],
          ['www3', 7],
          ['svc1', 514],
        ] as const) {
          const request: ProbeRequest = {
            from: client,
            user,
            protocol: 'socks4',
            command: 'connect',
            target: { host, port },
            useSocksConf: true,
          };
          const p = await predictRequest(world, request);
          const pieces = expectationPieces(p, request).filter(
            (e) => e.reply !== undefined || e.path || e.rules.length,
          );
          const w = { request, steps: [], cleanup: [], label: `${client} ${user} → ${host}:${port}` };
          cases.push(witnessCase(w, w.label, mergeExpectations(pieces)));
        }
      }
    }
  }
  return cases;
}

const cases = await suite();
const mutants = generateMutants(design);
const started = performance.now();
const cpu = process.cpuUsage();
const run = await judgeMutants(design, cases, mutants, { witnesses: classWitnessSource() });
const seconds = (performance.now() - started) / 1000;
const used = process.cpuUsage(cpu);
const cpuSeconds = (used.user + used.system) / 1e6;
const s = run.score;
process.stdout.write(
  [
    `mutate on a generated ${design.topology.hosts.length}-host topology, ${cases.length} cases`,
    `  ${s.total} mutants: ${s.killed} killed, ${s.survived} survived, ${s.equivalent} equivalent (score ${s.percent.toFixed(1)} %)`,
    `  ${seconds.toFixed(1)} s, ${(s.total / seconds).toFixed(1)} mutants/s (goal: ≥ 100 mutants in < 30 s)`,
    // On a shared machine the wall time includes waiting for the CPU; this is what the run used.
    `  CPU ${cpuSeconds.toFixed(1)} s, ${(s.total / cpuSeconds).toFixed(1)} mutants per CPU second`,
    '',
  ].join('\n'),
);
