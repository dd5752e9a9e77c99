import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InputError } from '../../common/errors.ts';
import {
  type DiagramFormat,
  DiagramFormats,
  diagram,
  diagramWarnings,
  formatForPath,
} from '../../diagram/diagram-output.ts';
import type { Trace } from '../../scenario/trace.ts';
import { loadTopology } from '../../topology/load.ts';

interface GraphOptions {
  readonly output?: string;
  readonly format?: string;
  readonly trace?: string;
  readonly case?: string;
  readonly sequence?: boolean;
}

/** The named case's trace from a report.json (the only case when no name is given). */
async function caseTrace(
  reportFile: string,
  name: string | undefined,
): Promise<{ trace: Trace; title: string }> {
  let report: unknown;
  try {
    report = JSON.parse(await readFile(reportFile, 'utf8'));
  } catch (err) {
    throw new InputError(
      'E_GRAPH_REPORT',
      `${reportFile}: cannot read the report: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const cases = (report as { cases?: unknown }).cases;
  if (!Array.isArray(cases))
    throw new InputError('E_GRAPH_REPORT', `${reportFile}: no "cases" list; is it a report.json?`);
  const named = cases as { name?: unknown; trace?: unknown }[];
  const names = named.map((c) => String(c.name));
  const chosen =
    name === undefined ? (named.length === 1 ? named[0] : undefined) : named.find((c) => c.name === name);
  if (chosen === undefined) {
    const what =
      name === undefined ? `has ${named.length} cases; pick one with --case` : `has no case "${name}"`;
    throw new InputError('E_GRAPH_CASE', `${reportFile} ${what}; cases: ${names.join(', ') || '(none)'}`);
  }
  if (chosen.trace === undefined || chosen.trace === null || typeof chosen.trace !== 'object') {
    throw new InputError('E_GRAPH_REPORT', `${reportFile}: case "${String(chosen.name)}" has no trace`);
  }
  return { trace: chosen.trace as Trace, title: String(chosen.name) };
}

function pickFormat(options: GraphOptions): DiagramFormat {
  if (options.format !== undefined) {
    if (!(DiagramFormats as readonly string[]).includes(options.format)) {
      throw new InputError(
        'E_GRAPH_FORMAT',
        `unknown --format "${options.format}"; known: ${DiagramFormats.join(', ')}`,
      );
    }
    return options.format as DiagramFormat;
  }
  return options.output === undefined ? 'dot' : formatForPath(options.output);
}

/** `sockslab graph <topology> [-o out.svg|.dot|.mmd] [--trace report.json --case NAME] [--sequence]` */
export function register(program: Command): void {
  program
    .command('graph')
    .description('draw a topology (networks, hosts, socks.conf forwarding) or a traced request over it')
    .argument('<topology>', 'topology YAML file')
    .option(
      '-o, --output <file>',
      'write here; the extension picks the format (.svg, .dot, .mmd); default: DOT on stdout',
    )
    .option('--format <format>', `output format when it cannot come from -o (${DiagramFormats.join(', ')})`)
    .option('--trace <report.json>', 'draw a case of this run report over the topology')
    .option('--case <name>', 'which case of the report (needed when it has several)')
    .option('--sequence', 'with --trace: the sequence view (client → hops → destination) instead of the map')
    .action(async (topologyFile: string, options: GraphOptions) => {
      if (options.case !== undefined && options.trace === undefined) {
        throw new InputError('E_GRAPH_CASE', '--case needs --trace <report.json>');
      }
      const format = pickFormat(options);
      // Configs are not required to parse: the diagram draws a broken one as a warning note,
      // which is what a reviewer needs to see (`sockslab check` is the validator).
      const topology = await loadTopology(topologyFile, { invalidConfigs: 'keep' });
      for (const warning of diagramWarnings(topology))
        process.stderr.write(`sockslab graph: warning: ${warning}\n`);
      const trace = options.trace === undefined ? undefined : await caseTrace(options.trace, options.case);
      const text = await diagram(topology, {
        format,
        ...(trace === undefined ? {} : { trace }),
        sequence: options.sequence === true,
      });
      if (options.output === undefined) process.stdout.write(text);
      else await writeFile(options.output, text);
    });
}
