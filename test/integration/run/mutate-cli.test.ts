import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { projectRoot } from '../../helpers/seed-topology.ts';

/** `sockslab mutate` end to end: score, survivors, JSON, exit codes, and --confirm on the local runtime. */
const cli = join(projectRoot, 'src/cli/sockslab.ts');
const sockslab = (args: readonly string[]) =>
  execa('node', ['--import=tsx', cli, 'mutate', ...args], {
    cwd: projectRoot,
    reject: false,
    env: { CI: '1' },
    timeout: 180_000,
  });
const blindSpot = [
  'test/fixtures/mutate/blind-spot.topology.yaml',
  'test/fixtures/mutate/blind-spot.scenario.yaml',
];

test('mutate on the seed cascade prints the score and every survivor as a diff with a case, and exits 0', async (t) => {
  const r = await sockslab(['topologies/seed-cascade.yaml']);
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout, /^mutate seed-cascade: 54 mutants against 10 cases$/m);
  t.regex(r.stdout, /^killed 31, survived 15, equivalent 8$/m);
  t.regex(r.stdout, /^mutation score 67\.4 % \(31 of 46 non-equivalent mutants killed\)$/m);
  t.regex(
    r.stdout,
    / {2}B sockd\.conf:2 drop-user x\n {4}- sockd\.conf:2 {2}permit \?=I \*=x 10\.1\.0\.0 255\.255\.255\.0\n {4}\+ sockd\.conf:2 {2}permit \?=I 10\.1\.0\.0 255\.255\.255\.0 0\.0\.0\.0 0\.0\.0\.0\n/,
  );
  t.regex(r.stdout, /suggested case \(paste it before "after B's sockd\.conf is replaced/);
});

test('mutate --json gives every mutant with its status, and the survivors their cases', async (t) => {
  const r = await sockslab(['topologies/seed-cascade.yaml', 'scenarios/seed-cascade.yaml', '--json']);
  t.is(r.exitCode, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.like(out, { version: 1, topology: 'seed-cascade', cases: 10, equivalenceDecided: true });
  t.like(out.score, { total: 54, killed: 31, survived: 15, equivalent: 8 });
  t.is(out.mutants.length, 54);
  const leGap = out.mutants.find((m: { id: string }) => m.id === 'A sockd.conf:2 port-op le');
  t.like(leGap, {
    status: 'survived',
    host: 'A',
    file: 'sockd.conf',
    line: 2,
    operator: 'port-op',
    detail: 'le',
    suggested: { case: { from: 'C', user: 'x', connect: 'z:1', expect: { reply: 'rejected' } } },
  });
  const killed = out.mutants.find((m: { id: string }) => m.id === 'B sockd.conf:2 identd ?=i');
  t.like(killed, { status: 'killed', killedBy: { case: 'B refuses 92 when identd on C is down' } });
});

test('mutate --min-score exits 1 below the threshold and 0 at or above it', async (t) => {
  const [below, above] = await Promise.all([
    sockslab([...blindSpot, '--min-score', '90']),
    sockslab([...blindSpot, '--min-score', '83']),
  ]);
  t.is(below.exitCode, 1, below.stderr);
  t.regex(below.stdout, /mutation score 83\.3 %/);
  t.is(above.exitCode, 0, above.stderr);
});

test('mutate exits 2 on bad input, naming what is wrong', async (t) => {
  const [score, missing, runtime] = await Promise.all([
    sockslab([...blindSpot, '--min-score', 'most']),
    sockslab(['topologies/no-such-topology.yaml']),
    sockslab([...blindSpot, '--confirm', '--runtime', 'vmware']),
  ]);
  t.is(score.exitCode, 2);
  t.regex(score.stderr, /--min-score "most": expected a percentage from 0 to 100/);
  t.is(missing.exitCode, 2);
  t.regex(missing.stderr, /no-such-topology\.yaml/);
  t.is(runtime.exitCode, 2);
  t.regex(runtime.stderr, /vmware/);
  t.regex(runtime.stderr, /local/);
});

test('mutate --confirm replays each suggested case on the design and on its mutant, live on the local runtime', async (t) => {
  const r = await sockslab([...blindSpot, '--confirm', '--json']);
  t.is(r.exitCode, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const survivors = out.mutants.filter((m: { status: string }) => m.status === 'survived');
  t.deepEqual(
    survivors.map((m: { id: string; confirm: { confirmed: boolean; runtime: string } }) => [
      m.id,
      m.confirm.runtime,
      m.confirm.confirmed,
    ]),
    [
      ['S sockd.conf:4 action deny', 'local', true],
      ['S sockd.conf:4 drop-line', 'local', true],
      ['S sockd.conf:4 port-op gt', 'local', true],
      ['S sockd.conf:4 port-op ge', 'local', true],
    ],
  );
  // Observed on the labs: the case held on the design, and the mutant failed it where predicted.
  const flip = survivors[0];
  t.deepEqual(flip.confirm.design, []);
  t.deepEqual(
    flip.confirm.mutated.map((f: { what: string }) => f.what),
    flip.suggested.differences.map((f: { what: string }) => f.what),
  );
});
