import type { Command } from 'commander';
import { InputError } from '../../common/errors.ts';
import type { LabEvent } from '../../common/events.ts';
import { Socks4Reply } from '../../protocol/socks4.ts';
import { Socks5Reply } from '../../protocol/socks5.ts';
import { controlProbe } from '../../runtime/lab-control.ts';
import type { ProbeOutcome, ProbeProtocol, ProbeRequest } from '../../runtime/runtime.ts';
import { probeAndSettle } from '../../runtime/settle.ts';
import { describeReply } from '../../scenario/replies.ts';
import { stitchTraces } from '../../scenario/stitch.ts';
import { traceLines } from '../../scenario/trace-text.ts';
import { loadTopology } from '../../topology/load.ts';
import type { ResolvedTopology } from '../../topology/model.ts';
import { readLabState, stateDir, stateFile } from '../lab-state.ts';
import { runtimeRegistry } from '../runtimes.ts';
import { eventLine } from './up.ts';

/**
 * `sockslab probe <topology> --from C --user x [--claim NAME] [--via B[:port] | --use-socks-conf]
 *  [--socks4|--socks4a|--socks5] (--connect host:port | --bind host:port [--bind-peer H[:user]])
 *  [--send text] [--json]`: one request from inside a host. Joins the running `sockslab up` lab
 * of that topology when there is one, else brings up a one-shot lab. Prints the reply, what came
 * back and the trace (--json: { request, outcome, trace }). Exit 0 granted, 1 refused or failed.
 */

interface ProbeFlags {
  from: string;
  user: string;
  claim?: string;
  via?: string;
  useSocksConf?: boolean;
  socks4?: boolean;
  socks4a?: boolean;
  socks5?: boolean;
  connect?: string;
  bind?: string;
  bindPeer?: string;
  send?: string;
  username?: string;
  password?: string;
  json?: boolean;
  events?: boolean;
  timeout: string;
  oneShot?: boolean;
  stateDir?: string;
  runtime: string;
}

function hostPort(flag: string, text: string): { host: string; port: number } {
  const m = /^\[(.+)\]:(\d{1,5})$/.exec(text) ?? /^([^:]+|\d+\.\d+\.\d+\.\d+):(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) {
    throw new InputError(
      'E_CLI_OPTION',
      `${flag} needs host:port (e.g. z:7, or [2001:db8::1]:7 for IPv6), got \`${text}\``,
    );
  }
  return { host: m[1]!, port };
}

export function probeRequest(flags: ProbeFlags): ProbeRequest {
  const protocols = (['socks4', 'socks4a', 'socks5'] as const).filter((p) => flags[p]);
  if (protocols.length > 1) {
    throw new InputError(
      'E_CLI_OPTION',
      `choose one of --socks4, --socks4a, --socks5 (got ${protocols.map((p) => `--${p}`).join(' ')})`,
    );
  }
  if ((flags.connect === undefined) === (flags.bind === undefined)) {
    throw new InputError('E_CLI_OPTION', 'give exactly one of --connect host:port or --bind host:port');
  }
  if (flags.via !== undefined && flags.useSocksConf) {
    throw new InputError('E_CLI_OPTION', '--via and --use-socks-conf exclude each other');
  }
  const protocol: ProbeProtocol = protocols[0] ?? 'socks4';
  const command = flags.connect !== undefined ? 'connect' : 'bind';
  const target = hostPort(`--${command}`, (flags.connect ?? flags.bind)!);
  const timeoutMs = Number(flags.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new InputError('E_CLI_OPTION', `--timeout needs milliseconds, got ${flags.timeout}`);
  }
  if ((flags.username === undefined) !== (flags.password === undefined)) {
    throw new InputError('E_CLI_OPTION', '--username and --password go together');
  }
  if (flags.claim !== undefined && protocol === 'socks5') {
    throw new InputError(
      'E_CLI_OPTION',
      '--claim sets the SOCKS 4 USERID; a SOCKS 5 user goes in --username',
    );
  }
  const [peerHost, peerUser] = (flags.bindPeer ?? '').split(':');
  return {
    from: flags.from,
    user: flags.user,
    ...(flags.claim !== undefined && flags.claim !== flags.user ? { claim: flags.claim } : {}),
    ...(flags.via !== undefined ? { via: flags.via } : { useSocksConf: true }),
    protocol,
    command,
    target,
    timeoutMs,
    ...(flags.send !== undefined ? { send: flags.send } : {}),
    ...(flags.username !== undefined && flags.password !== undefined
      ? { credentials: { username: flags.username, password: flags.password } }
      : {}),
    ...(command === 'bind' && peerHost
      ? { bindPeer: { from: peerHost, ...(peerUser ? { user: peerUser } : {}) } }
      : {}),
  };
}

async function oneShot(
  topology: ResolvedTopology,
  request: ProbeRequest,
  runtimeName: string,
): Promise<{ outcome: ProbeOutcome; events: readonly LabEvent[] }> {
  const runtime = await (await runtimeRegistry(runtimeName)).ready(runtimeName);
  const lab = await runtime.up(topology, {});
  try {
    return await probeAndSettle(lab, request);
  } finally {
    await lab.down();
  }
}

function granted(outcome: ProbeOutcome): boolean {
  const ok = outcome.protocol === 'socks5' ? Socks5Reply.Succeeded : Socks4Reply.Granted;
  if (outcome.reply === null) return outcome.clientRoute?.action === 'direct' && outcome.error === undefined;
  return outcome.reply === ok && (outcome.secondReply === undefined || outcome.secondReply === ok);
}

export function register(program: Command): void {
  program
    .command('probe')
    .description('send one SOCKS request from inside a host of a topology and show its trace')
    .argument('<topology>', 'topology YAML file')
    .requiredOption('--from <host>', 'origin host')
    .requiredOption('--user <user>', 'user on the origin host (SOCKS 4 USERID; whom identd names)')
    .option(
      '--claim <name>',
      'send this USERID instead of --user (a forged claim; identd still names --user)',
    )
    .option('--via <host[:port]>', 'first SOCKS server (default: the origin host socks.conf)')
    .option('--use-socks-conf', "route by the origin host's socks.conf (the default without --via)")
    .option('--socks4', 'SOCKS 4 (default)')
    .option('--socks4a', 'SOCKS 4A: the server resolves the name')
    .option('--socks5', 'SOCKS 5')
    .option('--connect <host:port>', 'CONNECT to host:port (a host name of the topology or an address)')
    .option('--bind <host:port>', 'BIND, expecting a connection from host')
    .option('--bind-peer <host[:user]>', 'the host that connects back to the bound address')
    .option('--send <text>', 'data to send once connected')
    .option('--username <name>', 'SOCKS 5 username (RFC 1929)')
    .option('--password <secret>', 'SOCKS 5 password (RFC 1929)')
    .option('--json', 'print { request, outcome, trace } as JSON')
    .option('--events', 'also print the raw events the probe caused')
    .option('--timeout <ms>', 'per-step time limit', '5000')
    .option('--one-shot', 'always bring up a fresh lab for this probe')
    .option('--state-dir <dir>', 'where `sockslab up` left its control file')
    .option('--runtime <name>', 'runtime for a one-shot lab', 'local')
    .action(async (file: string, flags: ProbeFlags) => {
      const request = probeRequest(flags);
      const topology = await loadTopology(file);
      const state = flags.oneShot
        ? null
        : await readLabState(stateFile(stateDir(flags.stateDir), topology.name));
      const { outcome, events } = state
        ? await controlProbe(state, request)
        : await oneShot(topology, request, flags.runtime);
      const trace = stitchTraces(events, topology, { request, outcome });
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ request, outcome, trace, ...(flags.events ? { events } : {}) }, null, 2)}\n`,
        );
      } else {
        const where = state ? `lab ${state.name} (pid ${state.pid})` : 'one-shot lab';
        process.stdout.write(
          `${request.user}${request.claim !== undefined ? ` (claiming ${request.claim})` : ''}@${request.from} ${request.command} ${request.target.host}:${request.target.port} (${request.protocol}) in ${where}\n`,
        );
        process.stdout.write(`reply: ${describeReply(outcome.reply, outcome.protocol)}\n`);
        if (outcome.secondReply !== undefined)
          process.stdout.write(`second reply: ${describeReply(outcome.secondReply, outcome.protocol)}\n`);
        if (outcome.bound) process.stdout.write(`bound: ${outcome.bound.address}:${outcome.bound.port}\n`);
        if (outcome.error) process.stdout.write(`error: ${outcome.error}\n`);
        process.stdout.write(`received: ${JSON.stringify(outcome.received)}\n`);
        process.stdout.write(
          `trace:\n${traceLines(trace)
            .map((l) => `  ${l}`)
            .join('\n')}\n`,
        );
        if (flags.events)
          process.stdout.write(`events:\n${events.map((e) => `  ${eventLine(e)}`).join('\n')}\n`);
      }
      process.exitCode = granted(outcome) ? 0 : 1;
    });
}
