import { resolve } from 'node:path';
import type { Command } from 'commander';
import { buildMatrix, type MatrixFilter } from '../../analysis/matrix.ts';
import { LabWorld } from '../../analysis/world.ts';
import { InputError } from '../../common/errors.ts';
import { renderMatrixCsv, renderMatrixJson, renderMatrixText } from '../../report/matrix-text.ts';
import { loadTopologyWithConfigs } from '../../topology/load.ts';

/**
 * `sockslab matrix <topology>`: every exact request class of the topology, evaluated by the
 * policy engine — verdict, path, deciding line per hop, identd per hop, route and failover.
 * Nothing runs. Exit 0, or 2 for invalid input (topology, configs, options).
 */
interface MatrixOptions {
  readonly from?: string[];
  readonly user?: string;
  readonly to?: string;
  readonly port?: string;
  readonly csv?: boolean;
  readonly json?: boolean;
  readonly all?: boolean;
}

function parsePort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 0 && n <= 65535))
    throw new InputError('E_MATRIX_PORT', `--port ${JSON.stringify(text)} is no port number (0-65535)`);
  return n;
}

export async function matrixCommand(topologyArg: string, options: MatrixOptions): Promise<number> {
  if (options.csv && options.json) throw new InputError('E_MATRIX_FORMAT', 'choose one of --csv and --json');
  const port = parsePort(options.port);
  const { topology, configs } = await loadTopologyWithConfigs(resolve(process.cwd(), topologyArg));
  const world = new LabWorld(topology, configs);
  if (options.to !== undefined && options.to.trim() === '')
    throw new InputError('E_MATRIX_TO', '--to needs a host name, an address or a DNS-style name');
  const filter: MatrixFilter = {
    ...(options.from && options.from.length > 0 ? { from: options.from } : {}),
    ...(options.user !== undefined ? { user: options.user } : {}),
    ...(options.to !== undefined ? { to: options.to } : {}),
    ...(port !== undefined ? { port } : {}),
  };
  const matrix = await buildMatrix(world, { filter });
  process.stdout.write(
    options.csv
      ? renderMatrixCsv(matrix)
      : options.json
        ? renderMatrixJson(matrix)
        : renderMatrixText(matrix, { all: options.all === true }),
  );
  // The count goes to stderr for the machine formats, so pipes stay clean and it is never silent.
  if (options.csv || options.json)
    process.stderr.write(
      `sockslab matrix: ${matrix.classes} classes enumerated, ${matrix.rows.length} written\n`,
    );
  return 0;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function register(program: Command): void {
  program
    .command('matrix')
    .description(
      'every exact request class of a topology with its verdict, path, deciding lines, identd and route (no runtime)',
    )
    .argument('<topology>', 'topology YAML file')
    .option('--from <host>', 'only requests from this origin host (repeatable)', collect)
    .option('--user <name>', 'only classes of this user (owner, or the USERID a forged request claims)')
    .option('--to <dest>', 'only classes whose destination holds this host name, address or DNS-style name')
    .option('--port <n>', 'only classes whose ports include n')
    .option('--csv', 'one CSV line per class')
    .option('--json', 'the whole matrix as JSON')
    .option('--all', 'print every class even when the table would be grouped')
    .action(async (topology: string, options: MatrixOptions) => {
      process.exitCode = await matrixCommand(topology, options);
    });
}
