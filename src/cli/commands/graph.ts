import type { Command } from 'commander';

/** `sockslab graph` — not implemented yet. */
export function register(program: Command): void {
  program
    .command('graph')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new Error('sockslab graph is not implemented yet');
    });
}
