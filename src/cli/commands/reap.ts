import type { Command } from 'commander';

/** `sockslab reap` — not implemented yet. */
export function register(program: Command): void {
  program
    .command('reap')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new Error('sockslab reap is not implemented yet');
    });
}
