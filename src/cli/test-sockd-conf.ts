#!/usr/bin/env node
/**
 * test_sockd_conf (f.5): evaluates one simulated CONNECT request against sockd.conf without any
 * network traffic; prints to stderr; exit 1 permitted, 0 denied, 255 usage or configuration error.
 * Thin: argv and files here, the evaluation in src/cli/checker.ts.
 */
import type { IdentdMode, RouteConfig } from '../config/ast.ts';
import type { IdentdSimulation } from '../policy/identd-simulation.ts';
import { checkSockdConf, SockdCheckUsage } from './checker.ts';
import {
  checkerLookups,
  loadCheckedConfig,
  loadConfig,
  reportCheck,
  servicesFrom,
  startChecker,
} from './checker-io.ts';

const ModeLetters: Readonly<Record<string, IdentdMode>> = { n: 'off', i: 'lenient', I: 'strict' };

function simulationFrom(
  flags: readonly string[],
  identd: string | undefined,
  mode: string | undefined,
): IdentdSimulation | string {
  const legacy = flags.filter((f) => f === '-i' || f === '-I' || f === '-B');
  if (identd === undefined && mode === undefined) {
    const last = legacy[legacy.length - 1];
    return { kind: 'legacy', flag: last === undefined ? 'none' : (last.slice(1) as 'i' | 'I' | 'B') };
  }
  if (legacy.length > 0) return '-i/-I/-B cannot be combined with --identd/--mode';
  const m = mode === undefined ? 'off' : ModeLetters[mode];
  if (m === undefined) return `--mode must be n, i or I (got ${mode})`;
  const id = identd ?? 'agree';
  if (id === 'agree' || id === 'unreachable' || id === 'error') return { kind: 'exact', mode: m, identd: id };
  if (id.startsWith('user:')) return { kind: 'exact', mode: m, identd: { user: id.slice(5) } };
  return `--identd must be agree, unreachable, error or user:NAME (got ${id})`;
}

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = startChecker('test_sockd_conf', SockdCheckUsage, argv, {
    flags: ['-i', '-I', '-B', '-x', '--json'],
    withValue: ['-R', '-C', '--identd', '--mode', '--hosts', '--services', '--pid'],
    positionals: 4,
  });
  if (typeof started === 'number') return started;
  const { args, json, fail } = started;
  const [user, src, dst, service] = args.positionals as [string, string, string, string];
  const simulation = simulationFrom(args.flags, args.values.get('--identd'), args.values.get('--mode'));
  if (typeof simulation === 'string') return fail([`test_sockd_conf: ${simulation}`], true);

  const services = servicesFrom(args.values.get('--services'));
  const { loaded: conf } = loadCheckedConfig(
    'sockd.conf',
    args.values.get('-C'),
    { text: env.SOCKD_CONF ?? '/etc/sockd.conf', frozen: env.SOCKD_FC ?? '/etc/sockd.fc' },
    services,
  );
  if (!conf.ok) return fail(conf.messages, false);

  // Multi-homed check only when a route file is named (-R, or SOCKD_ROUTE in the environment).
  const routePath = args.values.get('-R') ?? env.SOCKD_ROUTE;
  let route: { file: string; config: RouteConfig | null } | undefined;
  if (routePath !== undefined) {
    const loaded = loadConfig(
      'sockd.route',
      { text: routePath },
      services,
      `Unable to open routing file (${routePath})`,
    );
    for (const w of loaded.warnings) process.stderr.write(`${w}\n`);
    if (!loaded.ok && !loaded.missing) return fail(loaded.messages, false);
    route = { file: routePath, config: loaded.ok ? loaded.config : null };
  }

  const result = await checkSockdConf({
    user,
    src,
    dst,
    service,
    simulation,
    config: conf.config,
    ...(route === undefined ? {} : { route }),
    services,
    ...checkerLookups(args.values),
  });
  return reportCheck(result, { usage: SockdCheckUsage, execute: args.flags.includes('-x'), json });
}

process.exitCode = await main(process.argv.slice(2), process.env);
