import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { sockslabProgram } from '../../../src/cli/program.ts';
import { parseShard } from '../../../src/scenario/shard.ts';
import { projectRoot } from '../../helpers/seed-topology.ts';

/**
 * contrib/ci/github-actions-sharded.yml, the example CI workflow of the README: parsed as YAML,
 * its matrix is shards 1…N, every `sockslab` command line it runs is a real command of ours with
 * real options (commander parses it against the program the CLI runs), each shard's --shard is
 * valid and names the matrix's N, and the merge job merges every shard the matrix uploads.
 */

const file = join(projectRoot, 'contrib/ci/github-actions-sharded.yml');

interface Step {
  readonly name?: string;
  readonly run?: string;
  readonly uses?: string;
  readonly with?: Record<string, unknown>;
}
interface Workflow {
  readonly env: Record<string, string | number>;
  readonly jobs: Record<
    string,
    { readonly needs?: string; readonly strategy?: { matrix: { shard: number[] } }; readonly steps: Step[] }
  >;
}

const workflow = parse(readFileSync(file, 'utf8')) as Workflow;
const shards = workflow.jobs.shard!.strategy!.matrix.shard;

/** A step's command line with the workflow's expressions and env variables filled in, as words. */
function words(run: string, shard: number): string[] {
  const env = Object.fromEntries(Object.entries(workflow.env).map(([k, v]) => [k, String(v)]));
  const text = run
    .split(/\s*(?:\|\||&&)\s*/)[0]!
    .replace(/\$\{\{\s*matrix\.shard\s*\}\}/g, String(shard))
    .replace(/\$\{\{\s*env\.(\w+)\s*\}\}/g, (_m, k: string) => env[k] ?? `<unknown env ${k}>`)
    .replace(
      /"\$(\w+)"|\$(\w+)/g,
      (_m, a: string | undefined, b: string | undefined) => env[(a ?? b)!] ?? '<unset>',
    );
  const out: string[] = [];
  for (const m of text.matchAll(/"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2]!);
  return out;
}

/** `node dist/cli/sockslab.js <command…> <args>` lines of a job, with the words after the script. */
function sockslabLines(job: string, shard = 1): { line: string; args: string[] }[] {
  return workflow.jobs[job]!.steps.flatMap((s) => {
    if (!s.run) return [];
    const w = words(s.run, shard);
    const at = w.indexOf('dist/cli/sockslab.js');
    return at >= 0 ? [{ line: s.run, args: w.slice(at + 1) }] : [];
  });
}

/** The (sub)command `args` names and what commander makes of the rest: unknown options, operands. */
function parsed(args: readonly string[]): { command: Command; unknown: string[]; operands: string[] } {
  let command = sockslabProgram();
  let rest = [...args];
  for (;;) {
    const sub = command.commands.find((c) => c.name() === rest[0]);
    if (!sub) break;
    command = sub;
    rest = rest.slice(1);
  }
  const { operands, unknown } = command.parseOptions(rest);
  return { command, unknown, operands };
}

test('the example workflow runs one job per shard 1…N and merges them after', (t) => {
  t.deepEqual(shards, [1, 2, 3, 4]);
  t.is(Number(workflow.env.SHARDS), shards.length);
  t.is(workflow.jobs.merge!.needs, 'shard');
  t.true(existsSync(join(projectRoot, String(workflow.env.TOPOLOGY))), 'its topology is in the repository');
});

test("every sockslab line of the shard job is `run` with options the CLI has, and a valid --shard of the matrix's N", (t) => {
  for (const shard of shards) {
    const lines = sockslabLines('shard', shard);
    t.is(lines.length, 1);
    const { command, unknown, operands } = parsed(lines[0]!.args);
    t.is(command.name(), 'run');
    t.deepEqual(unknown, [], `unknown options in: ${lines[0]!.line}`);
    t.deepEqual(operands, [String(workflow.env.TOPOLOGY)]);
    const args = lines[0]!.args;
    t.deepEqual(parseShard(args[args.indexOf('--shard') + 1]!), { index: shard, count: shards.length });
    t.true(['local', 'netns', 'docker'].includes(args[args.indexOf('--runtime') + 1]!));
    t.regex(args[args.indexOf('--jobs') + 1]!, /^\d+$/);
  }
});

test('the merge job runs `report merge` over every shard artifact the shard jobs upload', (t) => {
  const lines = sockslabLines('merge');
  t.is(lines.length, 1);
  const { command, unknown, operands } = parsed(lines[0]!.args);
  t.is(command.name(), 'merge');
  t.is(command.parent?.name(), 'report');
  t.deepEqual(unknown, []);
  const uploaded = workflow.jobs.shard!.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'));
  const download = workflow.jobs.merge!.steps.find((s) => s.uses?.startsWith('actions/download-artifact'));
  const names = shards.map((k) =>
    String(uploaded!.with!.name).replace(/\$\{\{\s*matrix\.shard\s*\}\}/, String(k)),
  );
  t.deepEqual(
    operands,
    names.map((n) => `${download!.with!.path}/${n}`),
  );
});

test('a misspelt option in a workflow line would be caught', (t) => {
  t.deepEqual(parsed(['run', 'x.yaml', '--shards', '1/4']).unknown, ['--shards', '1/4']);
  t.deepEqual(parsed(['report', 'merge', 'a', '--out', 'b']).unknown, ['--out', 'b']);
});
