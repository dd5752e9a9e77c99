import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { Command } from 'commander';
import { execa } from 'execa';
import { register } from '../../../src/cli/commands/graph.ts';
import { exitCodeFor } from '../../../src/cli/exit.ts';
import { InputError } from '../../../src/common/errors.ts';
import type { Trace } from '../../../src/scenario/trace.ts';
import { grantedWithFailover, refusedByIdentdMismatch } from './traces.ts';

const root = path.resolve(import.meta.dirname, '../../..');
const topology = path.join(root, 'topologies/seed-cascade.yaml');

/** The real CLI in a child process (slow to start: used once, for stdout and the exit code). */
const sockslab = (...args: string[]) =>
  execa('node', ['--import=tsx', path.join(root, 'src/cli/sockslab.ts'), ...args], {
    cwd: root,
    reject: false,
  });

/** The same command in-process, through commander; errors come back as thrown. */
async function graph(...args: string[]): Promise<void> {
  const program = new Command('sockslab').exitOverride();
  register(program);
  await program.parseAsync(['node', 'sockslab', 'graph', ...args]);
}

async function refusal(t: ExecutionContext, args: string[]): Promise<Error> {
  const err = await t.throwsAsync(graph(...args));
  t.is(exitCodeFor(err), 2);
  t.true(err instanceof InputError);
  return err as Error;
}

/** The hand-built traces with the destination named as in topologies/seed-cascade.yaml. */
const asSeed = (trace: Trace): Trace => JSON.parse(JSON.stringify(trace).replaceAll('"Z"', '"z"'));

let dir = '';
test.before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sockslab-graph-'));
  const report = {
    cases: [
      { name: 'granted', verdict: 'pass', observed: {}, trace: asSeed(grantedWithFailover()) },
      { name: 'identd mismatch', verdict: 'pass', observed: {}, trace: asSeed(refusedByIdentdMismatch()) },
    ],
  };
  await writeFile(path.join(dir, 'report.json'), JSON.stringify(report));
});
test.after.always(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('the sockslab binary writes DOT to stdout when no output file is given, and exits 2 on bad input', async (t) => {
  const [ok, bad] = await Promise.all([
    sockslab('graph', topology),
    sockslab('graph', topology, '-o', 'x.png'),
  ]);
  t.is(ok.exitCode, 0, ok.stderr);
  t.true(ok.stdout.startsWith('digraph "topology:seed-cascade" {'));
  t.is(bad.exitCode, 2);
  t.regex(bad.stderr, /^sockslab: cannot tell the diagram format from "x\.png"/);
});

test('graph picks SVG, DOT or Mermaid from the output extension', async (t) => {
  for (const [file, start] of [
    ['t.svg', '<?xml'],
    ['t.dot', 'digraph '],
    ['t.mmd', 'flowchart TB'],
  ] as const) {
    const out = path.join(dir, file);
    await graph(topology, '-o', out);
    t.true((await readFile(out, 'utf8')).startsWith(start), file);
  }
});

test('graph --trace --case draws that case over the topology', async (t) => {
  const out = path.join(dir, 'case.svg');
  const r = await sockslab(
    'graph',
    topology,
    '--trace',
    path.join(dir, 'report.json'),
    '--case',
    'identd mismatch',
    '-o',
    out,
  );
  t.is(r.exitCode, 0, r.stderr);
  const svg = await readFile(out, 'utf8');
  t.true(svg.includes('identd mismatch'));
  t.true(svg.includes('refused by sockd.conf:3'));
});

test('graph --sequence with a .mmd output writes a Mermaid sequence diagram', async (t) => {
  const out = path.join(dir, 'case.mmd');
  const r = await sockslab(
    'graph',
    topology,
    '--trace',
    path.join(dir, 'report.json'),
    '--case',
    'granted',
    '--sequence',
    '-o',
    out,
  );
  t.is(r.exitCode, 0, r.stderr);
  t.true((await readFile(out, 'utf8')).startsWith('sequenceDiagram'));
});

test('an unknown case is refused, listing the cases there are', async (t) => {
  const err = await refusal(t, [topology, '--trace', path.join(dir, 'report.json'), '--case', 'nope']);
  t.regex(err.message, /has no case "nope"; cases: granted, identd mismatch/);
});

test('a report with several cases needs --case', async (t) => {
  const err = await refusal(t, [topology, '--trace', path.join(dir, 'report.json')]);
  t.regex(err.message, /has 2 cases; pick one with --case/);
});

test('--case without --trace is refused', async (t) => {
  const err = await refusal(t, [topology, '--case', 'granted']);
  t.regex(err.message, /--case needs --trace/);
});

test('an output extension that names no format is refused, listing the known ones', async (t) => {
  const err = await refusal(t, [topology, '-o', path.join(dir, 'x.png')]);
  t.regex(err.message, /\.dot, \.gv, \.svg, \.mmd/);
});

test('a topology whose socks.conf does not parse still draws, with the warning as a note and on stderr', async (t) => {
  const yaml = (await readFile(topology, 'utf8')).replace(
    'direct 10.2.0.0 255.255.255.0',
    'allow 10.2.0.0 255.255.255.0',
  );
  t.not(yaml, await readFile(topology, 'utf8'), 'the fixture line to break is still there');
  const broken = path.join(dir, 'broken.yaml');
  await writeFile(broken, yaml);
  const out = path.join(dir, 'broken.dot');
  const written: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => written.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    await graph(broken, '-o', out);
  } finally {
    process.stderr.write = write;
  }
  t.regex(await readFile(out, 'utf8'), /shape="note".*socks\.conf:2 is invalid/);
  t.regex(written.join(''), /sockslab graph: warning: B: socks\.conf:2 is invalid/);
});
