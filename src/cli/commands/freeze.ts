import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { freezeClasses, renderFrozen } from '../../analysis/freeze.ts';
import { LabWorld } from '../../analysis/world.ts';
import { loadTopologyWithConfigs } from '../../topology/load.ts';

/**
 * `sockslab freeze <topology> [-o scenarios/<name>.frozen.yaml]`: a regression scenario file with
 * one case per request class and the outcome the configs give today. Without -o the file goes to
 * stdout. Exit 0 written, 2 invalid input.
 */

interface FreezeFlags {
  readonly output?: string;
}

export async function freezeCommand(topologyArg: string, flags: FreezeFlags): Promise<number> {
  const cwd = process.cwd();
  const { topology, configs } = await loadTopologyWithConfigs(resolve(cwd, topologyArg));
  const frozen = await freezeClasses(new LabWorld(topology, configs), topologyArg);
  const text = renderFrozen(frozen);
  if (flags.output === undefined) process.stdout.write(text);
  else {
    await writeFile(resolve(cwd, flags.output), text);
    const written = frozen.cases.filter((c) => c.writable).length;
    const commented = frozen.cases.length - written;
    process.stderr.write(
      `${flags.output}: ${written} cases, one per request class of ${topology.name}${commented ? `; ${commented} forged-claim classes kept as comments` : ''}\n`,
    );
  }
  return 0;
}

export function register(program: Command): void {
  program
    .command('freeze')
    .description(
      'write a regression scenario file: one case per request class, with the outcome the configs give today',
    )
    .argument('<topology>', 'topology YAML file')
    .option('-o, --output <file>', 'where to write it (e.g. scenarios/<name>.frozen.yaml); default stdout')
    .action(async (topology: string, flags: FreezeFlags) => {
      process.exitCode = await freezeCommand(topology, flags);
    });
}
