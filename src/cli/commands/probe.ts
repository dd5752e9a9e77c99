import type { Command } from 'commander';

/** `sockslab probe` — not implemented yet. */
export function register(program: Command): void {
  program
    .command('probe')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new Error('sockslab probe is not implemented yet');
    });
}
