/**
 * The real test_sockd_conf / test_socks_conf binaries (f.5, f.6) on the spec's example files:
 * exit statuses and every stderr line. DNS comes from a --hosts fixture, user files from a temp
 * copy of the fixtures (the /etc/sockd/ paths rewritten), services from the built-in table.
 */
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { freeze } from '../../../src/config/frozen.ts';
import { parseSockdConf } from '../../../src/config/sockd-conf.ts';
import { readMdTables } from '../../helpers/md-table.ts';
import { destinationFromCell, lineFromCell, specFixtureDir } from '../../helpers/spec-fixtures.ts';

const sockdCli = new URL('../../../src/cli/test-sockd-conf.ts', import.meta.url).pathname;
const socksCli = new URL('../../../src/cli/test-socks-conf.ts', import.meta.url).pathname;

const dir = mkdtempSync(join(tmpdir(), 'sockslab-checkers-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** A fixture copy with `/etc/sockd/` pointing at the temp dir. */
function install(name: string): string {
  const text = readFileSync(join(specFixtureDir, name), 'utf8').replaceAll('/etc/sockd/', `${dir}/`);
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
for (const f of ['banned.users', 'staff.users']) copyFileSync(join(specFixtureDir, f), join(dir, f));
const sockdConf = install('sockd.conf');
const domains = install('sockd.conf.domains');
const edge = install('sockd.conf.edge');
const invalid = install('sockd.conf.invalid');
const socksConf = install('socks.conf');
const route = install('sockd.route');
const routeNoDefault = install('sockd.route.nodefault');
const hosts = join(dir, 'hosts');
writeFileSync(
  hosts,
  [
    '10.9.1.10 ws1.eng.example.com',
    '198.51.100.7 www.example.org web.example.org',
    '198.51.100.8 example.org',
    '172.20.0.10 db.corp.example.com',
    '198.51.100.50 app.partner.example.net',
    '10.0.0.5 fw3.corp.example.com',
    '',
  ].join('\n'),
);
const sourceLine = (file: string, n: number) => readFileSync(file, 'utf8').split('\n')[n - 1];

async function run(cli: string, args: readonly string[], env: Record<string, string> = {}) {
  const r = await execa(
    'node',
    ['--import=tsx', cli, '--hosts', hosts, '--services', 'builtin', '--pid', '4242', ...args],
    {
      reject: false,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        SOCKD_CONF: join(dir, 'none.conf'),
        SOCKS_CONF: join(dir, 'none.conf'),
        SOCKD_FC: join(dir, 'none.fc'),
        SOCKS_FC: join(dir, 'none.fc'),
        ...env,
      },
      extendEnv: false,
    },
  );
  return { exit: r.exitCode, lines: r.stderr === '' ? [] : r.stderr.split('\n'), stdout: r.stdout };
}

test('sockd.conf row 1: a banned user is denied by line 7, its command printed expanded, exit 0', async (t) => {
  const r = await run(sockdCli, ['-C', sockdConf, 'guest', '10.1.2.3', '198.51.100.10', '80']);
  t.is(r.exit, 0);
  t.deepEqual(r.lines, [
    'USER:guest,  SRC:10.1.2.3,  DST:198.51.100.10, PORT:80',
    `Line 7: ${sourceLine(sockdConf, 7)}`,
    'Command: /usr/bin/logger -t sockd "banned guest@10.1.2.3 to 198.51.100.10:80"',
  ]);
});

test('sockd.conf row 5: without flags identd is taken to confirm the user; permitted, exit 1', async (t) => {
  const r = await run(sockdCli, ['-C', sockdConf, 'root', '10.1.1.5', '203.0.113.9', 'telnet']);
  t.is(r.exit, 1);
  t.deepEqual(r.lines, [
    'USER:root,  SRC:10.1.1.5,  DST:203.0.113.9, PORT:23',
    `Line 9: ${sourceLine(sockdConf, 9)}`,
  ]);
});

test('sockd.conf row 6 with -I: the #NO_IDENTD line and its command, then cannot verify, exit 0', async (t) => {
  const r = await run(sockdCli, ['-I', '-C', sockdConf, 'root', '10.1.1.5', '203.0.113.9', '23']);
  t.is(r.exit, 0);
  t.deepEqual(r.lines, [
    'USER:root,  SRC:10.1.1.5,  DST:203.0.113.9, PORT:23',
    `Line 9: ${sourceLine(sockdConf, 9)}`,
    `Line 3: ${sourceLine(sockdConf, 3)}`,
    'Command: /usr/bin/logger -t sockd "no identd on 10.1.1.5 (10.1.1.5), user root"',
    'Access denied: cannot verify user-id.',
  ]);
});

test('sockd.conf row 7 with --identd=user:toor: #BAD_ID with the identd user, bad user-id, exit 0', async (t) => {
  const r = await run(sockdCli, [
    '--identd=user:toor',
    '-C',
    sockdConf,
    'root',
    '10.1.1.5',
    '203.0.113.9',
    '23',
  ]);
  t.is(r.exit, 0);
  t.deepEqual(r.lines.slice(2), [
    `Line 4: ${sourceLine(sockdConf, 4)}`,
    'Command: /usr/bin/logger -t sockd "ALERT: toor pretends to be root on 10.1.1.5"',
    'Access denied: bad user-id.',
  ]);
  const legacy = await run(sockdCli, ['-B', '-C', sockdConf, 'root', '10.1.1.5', '203.0.113.9', '23']);
  t.is(legacy.exit, 0);
  t.is(legacy.lines[3], 'Command: /usr/bin/logger -t sockd "ALERT: unknown pretends to be root on 10.1.1.5"');
});

test('exact simulation follows the server: a ?=n line ignores a strict global mode; -i tolerates', async (t) => {
  const off = await run(sockdCli, [
    '--mode=I',
    '--identd=unreachable',
    '-C',
    sockdConf,
    'zed',
    '10.2.0.7',
    '198.51.100.10',
    '80',
  ]);
  t.is(off.exit, 1, 'row 20: ?=n beats -I');
  const lenient = await run(sockdCli, [
    '--mode=i',
    '--identd=error',
    '-C',
    sockdConf,
    'gina',
    '10.6.1.1',
    '198.51.100.10',
    '1024',
  ]);
  t.is(lenient.exit, 1, 'row 30: global lenient tolerates');
  t.deepEqual(lenient.lines.slice(2), [
    `Line 3: ${sourceLine(sockdConf, 3)}`,
    'Command: /usr/bin/logger -t sockd "no identd on 10.6.1.1 (10.6.1.1), user gina"',
  ]);
});

test('sockd.conf.domains: names come from the --hosts fixture; nothing matching says so, exit 0', async (t) => {
  const d1 = await run(sockdCli, ['-C', domains, 'u', '10.9.1.10', '198.51.100.7', 'http']);
  t.is(d1.exit, 1);
  t.is(d1.lines[1], `Line 2: ${sourceLine(domains, 2)}`);
  const d11 = await run(sockdCli, ['-C', domains, 'u', '10.9.3.30', '198.51.100.7', '443']);
  t.is(d11.exit, 0);
  t.deepEqual(d11.lines, [
    'USER:u,  SRC:10.9.3.30,  DST:198.51.100.7, PORT:443',
    '*** No match with any line. Access denied.',
  ]);
});

test('sockd.conf.edge E3: the # after the colon stays in the printed command', async (t) => {
  const r = await run(sockdCli, ['-C', edge, 'u', '10.1.2.3', '198.51.100.1', '22']);
  t.is(r.exit, 0);
  t.deepEqual(r.lines.slice(1), [
    `Line 6: ${sourceLine(edge, 6)}`,
    'Command: echo "a # inside a command is kept: u"',
  ]);
});

test('sockd.conf.invalid: every error is reported and the exit status is 255', async (t) => {
  const r = await run(sockdCli, ['-C', invalid, 'u', '10.1.1.1', '10.2.2.2', '80']);
  t.is(r.exit, 255);
  t.is(r.lines.length, 13);
  t.is(r.lines[0], `Invalid permit/deny field at line 2 in file ${invalid}`);
  t.is(r.lines[12], `Invalid entry at line 14 in file ${invalid}`);
});

test('sockd.route R1 and R7 through -R: the route line, or no interface and denied', async (t) => {
  const r1 = await run(sockdCli, ['-C', sockdConf, '-R', route, 'zed', '10.2.0.7', '10.3.4.5', '21']);
  t.is(r1.exit, 1);
  t.deepEqual(r1.lines.slice(2), [
    `==== Checking routing file (${route})...`,
    `Line 3: ${sourceLine(route, 3)}`,
  ]);
  const r7 = await run(sockdCli, [
    '-C',
    sockdConf,
    '-R',
    routeNoDefault,
    'zed',
    '10.2.0.7',
    '198.51.100.80',
    '21',
  ]);
  t.is(r7.exit, 0);
  t.deepEqual(r7.lines.slice(2), [
    `==== Checking routing file (${routeNoDefault})...`,
    '***Cannot find appropriate interface to communicate with 198.51.100.80',
  ]);
});

test('usage errors and a missing configuration exit 255 with a message', async (t) => {
  const usage = await run(sockdCli, ['only', 'three', 'args']);
  t.is(usage.exit, 255);
  t.regex(usage.lines.at(-1) ?? '', /^Usage: test_sockd_conf /);
  const missing = await run(sockdCli, ['u', '10.1.1.1', '10.2.2.2', '80']);
  t.is(missing.exit, 255);
  t.deepEqual(missing.lines, [`Unable to open config file (${join(dir, 'none.conf')})`]);
  const port = await run(sockdCli, ['-C', sockdConf, 'u', '10.1.1.1', '10.2.2.2', 'nosuchservice']);
  t.is(port.exit, 255);
  t.deepEqual(port.lines.slice(1, 2), ['Invalid port number nosuchservice']);
  t.regex(port.lines.at(-1) ?? '', /^Usage: test_sockd_conf /);
});

test('--json prints one decision record on stdout', async (t) => {
  const r = await run(sockdCli, ['--json', '-C', sockdConf, 'a;b', '10.7.0.1', '198.51.100.10', '80']);
  t.is(r.exit, 0);
  const record = JSON.parse(r.stdout);
  t.like(record, { tool: 'test_sockd_conf', permitted: false, reply: 91, rule: { line: 20 }, exitCode: 0 });
  t.is(record.commands[0].text, '/usr/bin/logger -t sockd "rejected a_b@10.7.0.1 to 198.51.100.10 (http)"');
});

test("--json gives the server's 91 for row D10: rule 7 permits nosuch.invalid, but the name has no address", async (t) => {
  const table = readMdTables(readFileSync(join(specFixtureDir, 'sockd.conf.domains.expect.md'), 'utf8')).find(
    (tb) => tb.header.includes('why') && tb.rows.some((r) => r.get('#') === 'D10'),
  );
  const row = table?.rows.find((r) => r.get('#') === 'D10');
  if (!row) return t.fail('row D10 not found in sockd.conf.domains.expect.md');
  const dst = destinationFromCell(row.get('destination (as requested)'));
  if (!('name' in dst)) return t.fail('D10 names its destination');
  const r = await run(sockdCli, [
    '--json',
    '-C',
    domains,
    row.get('user'),
    row.get('src ip'),
    dst.name,
    row.get('port'),
  ]);
  const record = JSON.parse(r.stdout);
  t.is(record.reply, Number(row.get('reply')));
  t.is(record.rule.line, lineFromCell(row.get('line')));
  t.true(record.permitted, 'the rule itself permits');
  t.regex(record.replyReason, /nosuch\.invalid cannot be resolved.*91/);
  t.is(r.exit, 1);
});

test('--json says nothing about resolution when the permitted name resolves (D1-style, reply 90)', async (t) => {
  const r = await run(sockdCli, ['--json', '-C', domains, 'u', '10.9.1.10', 'www.example.org', '80']);
  const record = JSON.parse(r.stdout);
  t.like(record, { permitted: true, reply: 90, replyReason: null });
});

test('-x runs the expanded commands through /bin/sh', async (t) => {
  const conf = join(dir, 'x.conf');
  writeFileSync(conf, `permit 0.0.0.0 0.0.0.0 : touch ${dir}/ran-%u-%s\n`);
  const r = await run(sockdCli, ['-x', '-C', conf, 'kim', '10.1.1.1', '10.2.2.2', '80']);
  t.is(r.exit, 1);
  t.true(existsSync(join(dir, 'ran-kim-80')));
  const dry = await run(sockdCli, ['-C', conf, 'lee', '10.1.1.1', '10.2.2.2', '80']);
  t.is(dry.lines.at(-1), `Command: touch ${dir}/ran-lee-80`);
  t.false(existsSync(join(dir, 'ran-lee-80')), 'without -x nothing runs');
});

test('socks.conf S4: sockd via the listed servers in order, exit 2', async (t) => {
  const r = await run(socksCli, ['-C', socksConf, 'alice', '198.51.100.50', '443']);
  t.is(r.exit, 2);
  t.deepEqual(r.lines, [
    'USER:alice,  DST:198.51.100.50, PORT:443',
    `Line 6: ${sourceLine(socksConf, 6)}`,
    'Decision: sockd',
    'Servers: 10.0.0.2, fw-old.corp.example.com, 10.0.0.3, fw3.corp.example.com',
  ]);
});

test('socks.conf S1, S2, S11: deny exit 0, direct exit 1, a deny line with its command', async (t) => {
  const s1 = await run(socksCli, ['-C', socksConf, 'mallory', '10.1.1.1', '22']);
  t.is(s1.exit, 0);
  t.deepEqual(s1.lines.slice(1), [`Line 3: ${sourceLine(socksConf, 3)}`, 'Decision: deny']);
  const s2 = await run(socksCli, ['-C', socksConf, 'alice', '10.1.1.1', '22']);
  t.is(s2.exit, 1);
  t.deepEqual(s2.lines.slice(1), [`Line 4: ${sourceLine(socksConf, 4)}`, 'Decision: direct']);
  const s11 = await run(socksCli, ['-C', socksConf, 'bob', '192.0.2.33', 'http']);
  t.is(s11.exit, 0);
  t.deepEqual(s11.lines.slice(1), [
    `Line 8: ${sourceLine(socksConf, 8)}`,
    'Command: /usr/bin/logger -t rsockd "deny bob to 192.0.2.33:80"',
    'Decision: deny',
  ]);
  const s16 = await run(socksCli, ['-C', socksConf, 'carol', '198.51.100.1', '22']);
  t.deepEqual([s16.exit, s16.lines[1]], [0, '*** No match with any line. Access denied.']);
});

test('socks.conf S15: the default server comes from SOCKS_SERVER, which beats --default-server', async (t) => {
  const r = await run(
    socksCli,
    ['--default-server', '10.0.0.8', '-C', socksConf, 'carol', '198.51.100.1', '80'],
    {
      SOCKS_SERVER: '10.0.0.9',
    },
  );
  t.is(r.exit, 2);
  t.deepEqual(r.lines.slice(-2), ['Decision: sockd', 'Servers: 10.0.0.9']);
  const flag = await run(socksCli, [
    '--default-server',
    '10.0.0.8',
    '-C',
    socksConf,
    'carol',
    '198.51.100.1',
    '80',
  ]);
  t.is(flag.lines.at(-1), 'Servers: 10.0.0.8');
  const none = await run(socksCli, ['-C', socksConf, 'carol', '198.51.100.1', '80']);
  t.is(none.lines.at(-1), 'Servers: (none)');
});

test('socks.conf S17 and S19: loopback and a missing default file are direct, exit 1', async (t) => {
  const s17 = await run(socksCli, ['-C', socksConf, 'mallory', '127.0.0.1', '25']);
  t.is(s17.exit, 1);
  t.is(s17.lines.at(-1), 'Decision: direct');
  const s19 = await run(socksCli, ['alice', '198.51.100.50', '443']);
  t.is(s19.exit, 1, 'no file at the default path: everything direct (d.1)');
  const named = await run(socksCli, ['-C', join(dir, 'missing.conf'), 'alice', '198.51.100.50', '443']);
  t.is(named.exit, 255, 'a file named with -C must exist');
});

test('test_socks_conf --json carries the decision, the line and the servers', async (t) => {
  const r = await run(socksCli, ['--json', '-C', socksConf, 'erin', '192.0.2.33', '1024'], {
    SOCKS_SERVER: '10.0.0.9',
  });
  t.is(r.exit, 2);
  t.like(JSON.parse(r.stdout), {
    tool: 'test_socks_conf',
    decision: 'sockd',
    rule: { line: 9 },
    servers: ['10.0.0.9'],
    usedDefault: true,
  });
});

test('without -C the checker uses the frozen file first, as the server does (f.3)', async (t) => {
  const text = join(dir, 'edge.conf');
  writeFileSync(text, readFileSync(edge, 'utf8'));
  const frozen = join(dir, 'edge.fc');
  writeFileSync(frozen, freeze(parseSockdConf(readFileSync(edge, 'utf8'), { file: text })));
  writeFileSync(text, 'deny 0.0.0.0 0.0.0.0\n'); // the text changed after freezing: the frozen rules still apply
  const later = new Date(Date.now() + 10_000);
  utimesSync(text, later, later);
  const r = await run(sockdCli, ['u', '10.1.2.3', '198.51.100.1', '8080'], {
    SOCKD_CONF: text,
    SOCKD_FC: frozen,
  });
  t.is(r.exit, 1);
  t.is(r.lines.at(-1), `Line 5: ${sourceLine(edge, 5)}`);
  t.is(r.lines[0], `frozen file ${frozen} is older than ${text}`, 'the staleness warning (f.3.2)');
});
