import type { Command } from 'commander';
import { InputError } from '../../common/errors.ts';
import type { LabEvent } from '../../common/events.ts';
import { faultSupportText } from '../../runtime/fault-support.ts';
import { startLabControl } from '../../runtime/lab-control.ts';
import type { Lab, UpOptions } from '../../runtime/runtime.ts';
import { loadTopology } from '../../topology/load.ts';
import type { ResolvedTopology } from '../../topology/model.ts';
import {
  readLabState,
  removeLabState,
  removeLabStateOnExit,
  stateDir,
  stateFile,
  writeLabState,
} from '../lab-state.ts';
import { runtimeRegistry } from '../runtimes.ts';

/**
 * `sockslab up <topology>`: bring a topology up for interactive use, print where everything is,
 * optionally stream events, serve probes from `sockslab probe` on a 127.0.0.1 control endpoint,
 * and tear everything down on Ctrl-C.
 */

/** Rows: host, role, network, topology address, services as `kind port → real address:port`. */
export function labTable(lab: Lab): string {
  const rows: string[][] = [
    ['HOST', 'ROLE', 'NETWORK', 'ADDRESS', 'SERVICES (topology port → real address:port)'],
  ];
  for (const model of lab.topology.hosts) {
    const host = lab.host(model.name);
    const services: [string, number][] = [
      ...(model.server ? [[model.server.kind, model.server.port] as [string, number]] : []),
      ...(model.identd ? [['identd', model.identd.port] as [string, number]] : []),
      ...(model.echo ?? []).map((e) => [e.kind, e.port] as [string, number]),
    ];
    model.interfaces.forEach((iface, i) => {
      const text = services
        .map(([kind, port]) => {
          try {
            const real = host.reach(port, iface.network);
            return `${kind} ${port} → ${real.address}:${real.port}`;
          } catch {
            return `${kind} ${port} (stopped)`;
          }
        })
        .join(', ');
      rows.push([
        i === 0 ? model.name : '',
        i === 0 ? model.role : '',
        iface.network,
        iface.address,
        text || '-',
      ]);
    });
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join('  '))
    .join('\n');
}

/** One event as a terminal line: time, host, service, what happened. */
export function eventLine(e: LabEvent): string {
  const time = new Date(e.t).toISOString().slice(11, 23);
  const at = (p: { address: string; port: number }) => `${p.address}:${p.port}`;
  const what = (() => {
    switch (e.type) {
      case 'request':
        return `request ${e.command} ${e.dst.name ?? e.dst.host}:${e.dst.port} from ${at(e.client)} user ${JSON.stringify(e.user)}`;
      case 'identd':
        return `identd asked ${at(e.queried)}: ${e.user ?? e.answer ?? 'no answer'} (${e.verdict})`;
      case 'identd-served':
        return `identd served ${at(e.peer)} ${JSON.stringify(e.query)} → ${e.answer === null ? 'no answer' : JSON.stringify(e.answer)} [${e.behaviour}]`;
      case 'decision':
        return `decision ${e.action} ${e.rule ? `${e.rule.file}:${e.rule.line}` : '(no rule)'} [${e.reason}] user ${e.user} real ${e.realUser}`;
      case 'route':
        return `route ${e.action}${e.rule ? ` ${e.rule.file}:${e.rule.line}` : ''}${e.servers.length > 0 ? ` servers ${e.servers.join(',')}` : ''}`;
      case 'interface':
        return `interface ${e.purpose} ${e.iface ?? '(none)'}${e.rule ? ` ${e.rule.file}:${e.rule.line}` : ''}`;
      case 'resolve':
        return `resolve ${e.name}: ${e.addresses.join(', ') || 'no address here'}`;
      case 'upstream-attempt':
        return `upstream ${e.server} ${e.address ?? '?'}:${e.port} ${e.ok ? 'ok' : `failed ${e.error ?? ''}`}`;
      case 'outbound':
        return `outbound ${at(e.local)} → ${at(e.remote)} (${e.via})`;
      case 'reply':
        return `reply ${e.code} (${e.phase})${e.bound ? ` bound ${at(e.bound)}` : ''}`;
      case 'close':
        return `close ${e.bytesFromClient}/${e.bytesFromRemote} bytes, ${e.durationMs} ms (${e.reason})`;
      case 'log':
        return `log ${e.level}: ${e.message}`;
      case 'command':
        return `command ${e.status}: ${e.command}`;
      case 'echo':
        return `${e.kind} ${at(e.local)} saw ${at(e.peer)}, ${e.bytes} bytes`;
    }
  })();
  return `${time} ${(e.host ?? '?').padEnd(8)} ${e.service.padEnd(6)}${e.session ? `#${e.session}` : ''} ${what}`;
}

interface UpFlags {
  runtime: string;
  events?: boolean | string;
  stateDir?: string;
  unreachable: string;
  keepPorts?: boolean;
}

export function register(program: Command): void {
  program
    .command('up')
    .description('bring a topology up for interactive use (Ctrl-C tears it down)')
    .argument('<topology>', 'topology YAML file')
    .option('--runtime <name>', 'local, netns or docker', 'local')
    .option('--events [format]', 'stream every event: text (default) or json')
    .option('--state-dir <dir>', 'where to leave the control file for `sockslab probe`')
    .option('--unreachable <mode>', 'how disallowed connections fail: refused or timeout', 'refused')
    .option('--keep-ports', "local runtime: listen on the topology's own port numbers when free")
    .action(upCommand);
}

/**
 * `sockslab up`: the lab started, its control endpoint and state file published, what is where
 * printed; then it waits for Ctrl-C (or `sockslab down`) to take everything down again.
 */
async function upCommand(file: string, flags: UpFlags): Promise<void> {
  if (flags.unreachable !== 'refused' && flags.unreachable !== 'timeout') {
    throw new InputError(
      'E_CLI_OPTION',
      `--unreachable must be refused or timeout, got ${flags.unreachable}`,
    );
  }
  const topology = await loadTopology(file);
  const statePath = stateFile(stateDir(flags.stateDir), topology.name);
  const running = await readLabState(statePath);
  if (running) {
    throw new InputError(
      'E_LAB_RUNNING',
      `lab ${topology.name} is already up (pid ${running.pid}, ${running.url}); stop it first (Ctrl-C in its terminal or kill ${running.pid})`,
    );
  }
  const registry = await runtimeRegistry(flags.runtime);
  const runtime = await registry.ready(flags.runtime);
  const lab = await runtime.up(topology, upOptions(flags, flags.unreachable));
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      process.stdout.write(`stopping ${topology.name}…\n`);
      await control.close();
      await lab.down();
      await removeLabState(statePath);
      process.stdout.write(`${topology.name} is down\n`);
      process.exit(0);
    })();
    return stopping;
  };
  const control = await startLabControl(lab, { onDown: () => void stop() });
  await writeLabState(statePath, {
    topology: topology.file,
    name: topology.name,
    runtime: lab.runtime,
    runId: lab.runId,
    ...(lab.engine ? { engine: lab.engine } : {}),
    pid: process.pid,
    url: control.url,
    token: control.token,
    startedAt: new Date().toISOString(),
  });
  removeLabStateOnExit(statePath);
  await printLab(topology, lab, file, control.url, statePath);
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  await new Promise(() => {});
}

/** `--unreachable`, `--keep-ports` and `--events` as the runtime's options. */
function upOptions(flags: UpFlags, unreachable: 'refused' | 'timeout'): UpOptions {
  const format =
    flags.events === true || flags.events === 'text' ? 'text' : flags.events === 'json' ? 'json' : null;
  return {
    unreachable,
    ...(flags.keepPorts ? { keepPorts: true } : {}),
    ...(format
      ? {
          events: {
            emit: (e: LabEvent) =>
              process.stdout.write(`${format === 'json' ? JSON.stringify(e) : eventLine(e)}\n`),
          },
        }
      : {}),
  };
}

/** What is where, the standing faults and how this kernel applies them, how to probe and stop the lab. */
async function printLab(
  topology: ResolvedTopology,
  lab: Lab,
  file: string,
  controlUrl: string,
  statePath: string,
): Promise<void> {
  process.stdout.write(`${labTable(lab)}\n\n`);
  // Standing link faults are in force: say how this kernel applies them.
  if (topology.faults?.length && lab.faultSupport)
    process.stdout.write(
      `standing faults: ${topology.faults.map((f) => f.id).join('; ')}\n${faultSupportText(await lab.faultSupport())}\n\n`,
    );
  process.stdout.write(
    `lab ${topology.name} is up (runtime ${lab.runtime}, run ${lab.runId})${lab.engine ? ` on engine ${lab.engine}` : ''}; control ${controlUrl}, state ${statePath}\n` +
      `probe it: sockslab probe ${file} --from <host> --user <user> --connect <host:port> --send hello\n` +
      `Ctrl-C to tear it down\n`,
  );
}
