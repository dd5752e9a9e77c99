/**
 * `sockslab diff` on the generated 50-host estate (10 servers, 3-hop cascades: client → dept →
 * mid → edge): the joint class space of two versions and every class predicted in both. The
 * after version plants two changes an operator might make: the edges' web line moves from port
 * 80 to 8080, and department 2's staff list gains a name. Prints the class count, the time and
 * the time per class (median of the rounds); the goal is under 2 s for the whole diff.
 *
 *   node --import=tsx test/bench/diff.bench.ts [rounds]
 */
import { performance } from 'node:perf_hooks';
import { diffDesigns } from '../../src/analysis/diff.ts';
import { parseTopologyText } from '../../src/topology/load.ts';
import { generatedTopologyText } from '../helpers/generated-topology.ts';

const rounds = Number(process.argv[2] ?? 5);
const text = generatedTopologyText();
const changed = text
  .replaceAll('198.51.100.0 255.255.255.0 eq 80', '198.51.100.0 255.255.255.0 eq 8080')
  .replace('alice2 bob2', 'alice2 bob2 carol2');
if (changed === text) throw new Error('the planted change did not apply: the generator changed');

const load = async (t: string, label: string) => ({
  ...(await parseTopologyText(t, '/generated/generated.yaml')),
  label,
});
const before = await load(text, 'generated');
const after = await load(changed, 'generated (edges on 8080, carol2)');
const hosts = before.topology.hosts.length;
const servers = before.topology.hosts.filter((h) => h.server).length;

const times: number[] = [];
let classes = 0;
let changes = 0;
for (let i = 0; i < rounds; i++) {
  const t0 = performance.now();
  const d = await diffDesigns(before, after);
  times.push(performance.now() - t0);
  classes = d.classes;
  changes = d.changes.length;
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)]!;
process.stdout.write(
  [
    `diff of a generated ${hosts}-host topology (${servers} servers, 3-hop cascades), ${rounds} rounds`,
    `- joint classes: ${classes}, changed: ${changes}`,
    `- time: median ${median.toFixed(0)} ms (min ${times[0]!.toFixed(0)}, max ${times.at(-1)!.toFixed(0)}); goal < 2000 ms ${median < 2000 ? 'met' : 'NOT MET'}`,
    `- per class: ${((median * 1000) / classes).toFixed(1)} µs (two predictions each)`,
    '',
  ].join('\n'),
);
