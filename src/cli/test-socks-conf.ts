#!/usr/bin/env node
/**
 * test_socks_conf (f.6): how an rsockd would route one request by socks.conf; prints to stderr;
 * exit 0 deny, 1 direct, 2 sockd, 255 usage or configuration error. Thin: argv and files here,
 * the evaluation in src/cli/checker.ts.
 */
import { checkSocksConf, SocksCheckUsage } from './checker.ts';
import { checkerLookups, loadCheckedConfig, reportCheck, servicesFrom, startChecker } from './checker-io.ts';

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = startChecker('test_socks_conf', SocksCheckUsage, argv, {
    flags: ['-x', '--json'],
    withValue: ['-C', '--default-server', '--src', '--hosts', '--services', '--pid'],
    positionals: 3,
  });
  if (typeof started === 'number') return started;
  const { args, json, fail } = started;
  const [user, dst, service] = args.positionals as [string, string, string];
  const services = servicesFrom(args.values.get('--services'));

  // d.1: with no routing file at all every destination is direct; a file named explicitly
  // (-C) must exist.
  const explicit = args.values.get('-C');
  const { path: confPath, loaded: conf } = loadCheckedConfig(
    'socks.conf',
    explicit,
    { text: env.SOCKS_CONF ?? '/etc/socks.conf', frozen: env.SOCKS_FC ?? '/etc/socks.fc' },
    services,
  );
  if (!conf.ok && (explicit !== undefined || !conf.missing)) return fail(conf.messages, false);

  // d.6: SOCKS_SERVER wins over --default-server (h.2).
  const defaultServer = env.SOCKS_SERVER ?? args.values.get('--default-server');
  const result = await checkSocksConf({
    user,
    dst,
    service,
    config: conf.ok ? conf.config : null,
    file: confPath,
    ...(defaultServer === undefined || defaultServer === '' ? {} : { defaultServer }),
    src: args.values.get('--src') ?? '127.0.0.1',
    services,
    ...checkerLookups(args.values),
  });
  return reportCheck(result, { usage: SocksCheckUsage, execute: args.flags.includes('-x'), json });
}

process.exitCode = await main(process.argv.slice(2), process.env);
