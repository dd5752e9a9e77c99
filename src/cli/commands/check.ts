import type { Command } from 'commander';

/** `sockslab check` — not implemented yet. */
export function register(program: Command): void {
  program
    .command('check')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new Error('sockslab check is not implemented yet');
    });
}
