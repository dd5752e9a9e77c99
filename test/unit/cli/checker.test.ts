import test from 'ava';
import { checkSockdConf, parsePortArgument } from '../../../src/cli/checker.ts';
import { tableResolver } from '../../../src/common/table-resolver.ts';
import { builtinServices } from '../../../src/config/services.ts';
import { parseSockdConf } from '../../../src/config/sockd-conf.ts';
import type { IdentdSimulation } from '../../../src/policy/identd-simulation.ts';

const config = parseSockdConf(
  [
    '#NO_IDENTD: logger no identd %u',
    '#BAD_ID: logger bad %U for %u',
    'permit ?=I 10.1.0.0 255.255.0.0',
    'permit ?=n 10.2.0.0 255.255.0.0',
    'permit 10.3.0.0 255.255.0.0 : logger ok %u(%U)',
  ].join('\n'),
  { file: 'sockd.conf' },
);
const resolver = tableResolver({ reverse: new Map(), forward: new Map() });

async function check(src: string, simulation: IdentdSimulation, user = 'u') {
  return checkSockdConf({
    user,
    src,
    dst: '198.51.100.1',
    service: 'http',
    simulation,
    config,
    resolver,
    userFiles: () => ({ ok: true, names: [] }),
    services: builtinServices,
    pid: 1,
  });
}

test('legacy -i tolerates a missing identd even on a ?=I line (the original tool quirk)', async (t) => {
  const r = await check('10.1.0.1', { kind: 'legacy', flag: 'i' });
  t.true(r.permitted);
  t.is(r.exitCode, 1);
  t.deepEqual(r.lines.slice(2), ['Line 1: #NO_IDENTD: logger no identd %u', 'Command: logger no identd u']);
});

test('the exact simulation applies ?=I: identd unreachable refuses', async (t) => {
  const r = await check('10.1.0.1', { kind: 'exact', mode: 'lenient', identd: 'unreachable' });
  t.false(r.permitted);
  t.is(r.exitCode, 0);
  t.is(r.record.reply, 92);
  t.is(r.lines.at(-1), 'Access denied: cannot verify user-id.');
});

test('legacy flags are suppressed by ?=n on the matched line', async (t) => {
  for (const flag of ['i', 'I', 'B'] as const) {
    const r = await check('10.2.0.1', { kind: 'legacy', flag });
    t.true(r.permitted, `-${flag}`);
    t.is(r.lines.length, 2);
  }
});

test('legacy -B refuses with the #BAD_ID command and real user unknown', async (t) => {
  const r = await check('10.3.0.1', { kind: 'legacy', flag: 'B' });
  t.false(r.permitted);
  t.deepEqual(r.lines.slice(2), [
    'Line 2: #BAD_ID: logger bad %U for %u',
    'Command: logger bad unknown for u',
    'Access denied: bad user-id.',
  ]);
});

test('the exact simulation with identd agreeing expands %U to the confirmed user', async (t) => {
  const r = await check('10.3.0.1', { kind: 'exact', mode: 'strict', identd: 'agree' });
  t.true(r.permitted);
  t.is(r.lines.at(-1), 'Command: logger ok u(u)');
  const off = await check('10.3.0.1', { kind: 'exact', mode: 'off', identd: 'agree' });
  t.is(off.lines.at(-1), 'Command: logger ok u(unknown)', 'identd not asked: %U is unknown');
});

test('a service|port argument: service names first, then leading digits, below 65536', (t) => {
  t.is(parsePortArgument('telnet', builtinServices), 23);
  t.is(parsePortArgument('www', builtinServices), 80);
  t.is(parsePortArgument('80abc', builtinServices), 80);
  t.is(parsePortArgument('65535', builtinServices), 65535);
  t.is(parsePortArgument('65536', builtinServices), undefined);
  t.is(parsePortArgument('nosuch', builtinServices), undefined);
});
