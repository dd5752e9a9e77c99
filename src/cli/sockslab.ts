#!/usr/bin/env node
import { CommanderError } from 'commander';
import { exitCodeFor } from './exit.ts';
import { sockslabProgram } from './program.ts';

/** `sockslab` — thin: parse argv, call the library, set the exit code. */
const program = sockslabProgram();

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  process.stderr.write(`sockslab: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(exitCodeFor(err));
}
