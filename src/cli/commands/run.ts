import type { Command } from 'commander';

/** `sockslab run` — not implemented yet. */
export function register(program: Command): void {
  program
    .command('run')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new Error('sockslab run is not implemented yet');
    });
}
