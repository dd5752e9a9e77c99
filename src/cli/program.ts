import { Command } from 'commander';
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

/** The `sockslab` command tree (one module per command); tests read it to check documented commands. */
export function sockslabProgram(): Command {
  const program = new Command('sockslab')
    .description('bring up SOCKS server topologies, replay scenarios, check and draw them')
    .exitOverride();
  for (const register of [run, up, down, probe, check, matrix, diff, mutate, freeze, graph, report, reap])
    register(program);
  return program;
}
