import type { Command } from 'commander';

/** `sockslab down` — not implemented yet. */
export function register(program: Command): void {
  program
    .command('down')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new Error('sockslab down is not implemented yet');
    });
}
