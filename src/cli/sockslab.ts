#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { register as check } from './commands/check.ts';
import { register as diff } from './commands/diff.ts';
import { register as down } from './commands/down.ts';
import { register as freeze } from './commands/freeze.ts';
import { register as graph } from './commands/graph.ts';
import { register as matrix } from './commands/matrix.ts';
import { register as mutate } from './commands/mutate.ts';
import { register as probe } from './commands/probe.ts';
import { register as reap } from './commands/reap.ts';
import { register as report } from './commands/report.ts';
import { register as run } from './commands/run.ts';
import { register as up } from './commands/up.ts';
import { exitCodeFor } from './exit.ts';

/** `sockslab` — thin: parse argv, call the library, set the exit code. One module per command. */
const program = new Command('sockslab')
  .description('bring up SOCKS server topologies, replay scenarios, check and draw them')
  .exitOverride();
for (const register of [run, up, down, probe, check, matrix, diff, mutate, freeze, graph, report, reap])
  register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  process.stderr.write(`sockslab: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(exitCodeFor(err));
}
