import type { Command } from 'commander';

/** `sockslab up` — not implemented yet. */
export function register(program: Command): void {
  program
    .command('up')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new Error('sockslab up is not implemented yet');
    });
}
