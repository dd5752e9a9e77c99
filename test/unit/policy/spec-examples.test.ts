/**
 * Every row of every table in the spec's `*.expect.md` files, run through the policy engine by
 * one shared implementation: the table's header says what kind of table it is, and each row
 * becomes one test. A table of a kind not understood here fails, so new tables cannot be
 * silently skipped.
 */

import { readdirSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import { checkSockdConf } from '../../../src/cli/checker.ts';
import { dottedOf as dotted } from '../../../src/common/inet-address.ts';
import type { Resolver } from '../../../src/common/resolver.ts';
import type { ClientConfig, RouteConfig, ServerConfig } from '../../../src/config/ast.ts';
import { ConfigFileError } from '../../../src/config/config-error.ts';
import { builtinServices } from '../../../src/config/services.ts';
import { parseSockdConf } from '../../../src/config/sockd-conf.ts';
import { parseSockdRoute } from '../../../src/config/sockd-route.ts';
import { parseSocksConf } from '../../../src/config/socks-conf.ts';
import { decideClientRoute, planServerAttempts } from '../../../src/policy/client-route.ts';
import { expandCommand } from '../../../src/policy/command.ts';
import { type HostIdentity, hostFromAddress, hostFromName } from '../../../src/policy/host.ts';
import { chooseInterface } from '../../../src/policy/interface-choice.ts';
import {
  type AccessOutcome,
  applyIdentd,
  decideServerAccess,
  serverCommandContext,
} from '../../../src/policy/server-access.ts';
import { backticked, type MdRow, type MdTable, readMdTables, unquote } from '../../helpers/md-table.ts';
import {
  commandsFromCell,
  containsInOrder,
  destinationFromCell,
  identdFromCell,
  lineFromCell,
  readSpecFixture,
  specFixtureDir,
  specResolver,
  specUserFiles,
  userFromCell,
} from '../../helpers/spec-fixtures.ts';

const PID = 4242;
const UPSTREAM_PORT = 1080; // d.5: every upstream on the socks port
const serviceNameOf = (port: number) => builtinServices.nameOf(port);

interface Doc {
  readonly name: string;
  readonly markdown: string;
  readonly tables: readonly MdTable[];
  readonly resolver: Resolver;
}

const docs: Doc[] = readdirSync(specFixtureDir)
  .filter((f) => f.endsWith('.expect.md'))
  .sort()
  .map((name) => {
    const markdown = readSpecFixture(name);
    const tables = readMdTables(markdown);
    return { name, markdown, tables, resolver: specResolver(markdown, tables) };
  });

const serverConfig = (file: string): ServerConfig => parseSockdConf(readSpecFixture(file), { file });
const clientConfig = (file: string): ClientConfig => parseSocksConf(readSpecFixture(file), { file });
const routeConfig = (file: string): RouteConfig => parseSockdRoute(readSpecFixture(file), { file });

/** The configuration file a table is about: named in its heading, else the md's own subject. */
function subjectFile(doc: Doc, table: MdTable): string {
  const named = /`([a-z.]+)`/.exec(table.heading)?.[1];
  return named?.startsWith('socks') ? named : doc.name.replace(/\.expect\.md$/, '');
}

async function hostFromCell(resolver: Resolver, cell: string): Promise<HostIdentity> {
  const d = destinationFromCell(cell);
  return 'name' in d ? hostFromName(resolver, d.name) : hostFromAddress(resolver, d.ip);
}

const GlobalModes = { none: 'off', '-i': 'lenient', '-I': 'strict' } as const;

/** `* Row N: \`log\` then \`log\`` bullets below a table (h.6 texts the outcome must produce). */
function logBullets(markdown: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of markdown.matchAll(/^\* Row (\w+): ([\s\S]*?)(?=\n\* |\n\n|$)/gm)) {
    const logs = backticked(m[2]!).filter((s) => /^(refused --|cannot connect|\*Alert\*)/.test(s));
    out.set(m[1]!, logs);
  }
  return out;
}

function checkCommands(
  t: ExecutionContext,
  cell: string,
  actual: readonly { line: number; text: string }[],
  defaultLine: number | null,
) {
  const expected = commandsFromCell(cell, PID);
  if (expected === null) return;
  t.is(actual.length, expected.length, `commands run: ${JSON.stringify(actual)}`);
  expected.forEach((e, i) => {
    const a = actual[i];
    if (!a) return;
    t.is<number | null, number | null>(
      a.line,
      e.line ?? defaultLine,
      `command ${i + 1} comes from the expected line`,
    );
    if (e.pieces.length === 0) return;
    if (e.exact) t.is<string | undefined, string | undefined>(a.text, e.pieces[0]);
    else t.true(containsInOrder(a.text, e.pieces), `${a.text} contains ${e.pieces.join(' … ')}`);
  });
}

/** Request rows of the sockd.conf family: reply, line, commands, identd use, logs. */
async function serverRequestRow(t: ExecutionContext, doc: Doc, table: MdTable, row: MdRow) {
  const config = serverConfig(subjectFile(doc, table));
  const src = await hostFromAddress(doc.resolver, row.get('src ip'));
  const dst = await hostFromCell(
    doc.resolver,
    row.get(row.has('dst ip') ? 'dst ip' : 'destination (as requested)'),
  );
  const user = userFromCell(row.get('user'));
  const port = Number(row.get('port'));
  const command = row.get('cmd') === 'bind' ? 'bind' : 'connect';
  const global = (row.get('global') || 'none') as keyof typeof GlobalModes;
  const decision = decideServerAccess(
    config,
    { src, dst, user, port, command },
    { identdDefault: GlobalModes[global], userFiles: specUserFiles, serviceNameOf },
  );
  const identd = identdFromCell(row.get('identd') || '—');
  t.is(
    decision.identd !== 'off',
    identd.kind !== 'not-asked',
    'identd is queried exactly when the row says so',
  );
  const outcome: AccessOutcome = applyIdentd(decision, identd);
  // b.3: a permitted 4A name that did not resolve still ends in 91 (`failed -- … gethostbyname()`).
  const reply = outcome.granted && dst.addresses.length === 0 ? 91 : outcome.reply;
  t.is<number, number>(reply, Number(row.get('reply')), 'reply');
  t.is(decision.rule?.line ?? null, lineFromCell(row.get('line')), 'deciding line');
  const ctx = serverCommandContext(decision, outcome.realUser, PID);
  const expanded = outcome.commands.map((c) => ({ line: c.rule.line, text: expandTextOf(c.template, ctx) }));
  const commandsCell = row.get(
    row.has('commands run (expanded)') ? 'commands run (expanded)' : 'commands run',
  );
  if (row.has('commands run (expanded)') || row.has('commands run')) {
    checkCommands(t, commandsCell, expanded, decision.rule?.line ?? null);
  } else {
    t.is(outcome.commands.length, 0, 'this file has no shell commands');
  }
  for (const snippet of backticked(row.get('why')).filter((s) => s.startsWith('Unable to open userfile'))) {
    const pieces = snippet.split('…').filter((p) => p !== '');
    t.true(
      outcome.logs.some((l) => l.level === 'err' && containsInOrder(l.text, pieces)),
      `logs ${snippet}: ${JSON.stringify(outcome.logs)}`,
    );
  }
  const logs = logBullets(doc.markdown).get(row.get('#'));
  if (logs) {
    const texts = outcome.logs.map((l) => l.text);
    const positions = logs.map((l) => texts.indexOf(l));
    t.false(positions.includes(-1), `logs ${JSON.stringify(logs)} within ${JSON.stringify(texts)}`);
    t.deepEqual(
      positions,
      [...positions].sort((a, b) => a - b),
      'log lines in h.6 order',
    );
  }
}

function expandTextOf(template: string, ctx: Parameters<typeof expandCommand>[1]): string {
  const e = expandCommand(template, ctx);
  return e.ok ? e.text : e.log;
}

/** Parsed-rule tables of sockd.conf files: line, action, identd mode, port test. */
function serverParsedRow(t: ExecutionContext, doc: Doc, table: MdTable, row: MdRow) {
  const config = serverConfig(subjectFile(doc, table));
  const line = Number(row.get('line'));
  const rule = config.rules.find((r) => r.line === line);
  if (!rule) return t.fail(`no rule at line ${line}`);
  t.is(rule.action, row.get('action') as 'permit' | 'deny');
  if (row.has('identd')) {
    const cell = row.get('identd');
    const mode = cell.startsWith('(global)') ? undefined : cell.split(' ')[0];
    t.is(rule.identd?.mode, mode as typeof mode & ('off' | 'lenient' | 'strict'));
  }
  const portCell = row.get(row.has('port test') ? 'port test' : 'port');
  const [testText, extra] = portCell.split(';').map((s) => s.trim());
  if (testText === 'any') t.is(rule.port, undefined);
  else t.is<string | undefined, string | undefined>(`${rule.port?.op} ${rule.port?.port}`, testText);
  // The table notes a command only where it matters to the row's story (lines 16, 20).
  if (extra === 'command') t.not(rule.command, undefined, 'shell command present');
}

/** Tables listing one rule per line with its text (edge, invalid): the line holds that text. */
function lineTextRow(t: ExecutionContext, doc: Doc, table: MdTable, row: MdRow) {
  const file = subjectFile(doc, table);
  const source = readSpecFixture(file).split('\n')[Number(row.get('line')) - 1] ?? '';
  const pieces = unquote(row.get('text') || row.get('text (abridged)'))
    .split('…')
    .map((p) => p.trim().replace(/\s+/g, ' '))
    .filter((p) => p !== '');
  t.true(containsInOrder(source.replace(/\s+/g, ' '), pieces), `line ${row.get('line')} is ${source}`);
  const error = row.get('error (message prefix, followed by ` in file PATH`)');
  if (error) {
    const err = t.throws(() => serverConfig(file), { instanceOf: ConfigFileError });
    t.true(err?.classicMessages.includes(`${unquote(error)} in file ${file}`), `${unquote(error)} reported`);
  }
}

/** The DNS fixture table itself: the confirmed name list of c.6. */
async function dnsRow(t: ExecutionContext, doc: Doc, _table: MdTable, row: MdRow) {
  const host = await hostFromAddress(doc.resolver, row.get('address'));
  t.deepEqual(host.names, backticked(row.get('name list used for matching')));
}

/** Routing rows (socks.conf): result, line, server order and the d.7 candidate sequence. */
async function routeRow(t: ExecutionContext, doc: Doc, table: MdTable, row: MdRow) {
  const state = row.get('upstream state');
  const config = state.includes('removed') ? null : clientConfig(subjectFile(doc, table));
  const defaultServer = /SOCKS_SERVER=([\d.]+)/.exec(doc.markdown)?.[1];
  const dst = await hostFromCell(doc.resolver, row.get('destination'));
  const user = row.get('user');
  const port = Number(row.get('port'));
  const decision = decideClientRoute(
    config,
    { dst, user, port },
    { userFiles: specUserFiles, ...(defaultServer ? { defaultServer } : {}) },
  );
  const result = (row.get('routing result') || row.get('result')).split(' ')[0];
  t.is(decision.action, result as 'deny' | 'direct' | 'sockd');
  t.is(decision.rule?.line ?? null, lineFromCell(row.get('line')), 'deciding line');

  const used = row.get('connection used / reply to client');
  if (used.includes('command')) {
    const ctx = {
      srcHost: '10.9.9.9',
      srcAddr: '10.9.9.9',
      command: 'connect' as const,
      pid: PID,
      dstServ: String(serviceNameOf(port) ?? port),
      dstPort: port,
      realUser: 'unknown',
      user,
      dstHost: dst.display,
      dstAddr: dst.dotted,
    };
    const actual = decision.command
      ? [{ line: decision.command.rule.line, text: expandTextOf(decision.command.template, ctx) }]
      : [];
    checkCommands(t, used.slice(used.indexOf('command')), actual, decision.rule?.line ?? null);
  } else {
    t.is(decision.command, null, 'no command on this line');
  }
  if (decision.action !== 'sockd') return;

  // d.7 with the row's upstream state: which address the first TCP connection goes to.
  const refusing = (ip: string) =>
    state.startsWith('all refuse') ||
    (/\brefuses?\b/.test(state) && state.split(/ refuses?\b/)[0]!.includes(ip));
  const logs: string[] = [];
  let chosen: string | undefined;
  for await (const step of planServerAttempts(decision.servers, doc.resolver)) {
    if (step.kind === 'not-found') {
      logs.push(step.log);
      continue;
    }
    chosen = step.addresses.find((a) => !refusing(a));
    if (chosen) break;
    logs.push(`Failed to connect to sockd at ${step.entry}: Connection refused`);
  }
  if (used.startsWith('none')) t.is(chosen, undefined, 'every server fails');
  const expected = /(\d{1,3}(?:\.\d{1,3}){3})(?::(\d+))?/.exec(used);
  if (expected) {
    t.is(chosen, expected[1], 'connection used');
    if (expected[2]) t.is(Number(expected[2]), UPSTREAM_PORT);
  }
  if (used.includes('(default)')) t.true(decision.usedDefault);
  for (const snippet of backticked(row.get('notes')).filter(
    (s) => s.includes('Failed to connect') || s.startsWith('… at'),
  )) {
    const pieces = snippet.split('…').filter((p) => p.trim() !== '');
    t.true(
      logs.some((l) => containsInOrder(l, pieces)),
      `log ${snippet} in ${JSON.stringify(logs)}`,
    );
  }
}

/** Parsed rules of socks.conf: action and server list. */
function clientParsedRow(t: ExecutionContext, doc: Doc, table: MdTable, row: MdRow) {
  const config = clientConfig(subjectFile(doc, table));
  const rule = config.rules.find((r) => r.line === Number(row.get('line')));
  if (!rule) return t.fail(`no rule at line ${row.get('line')}`);
  t.is(rule.action, row.get('action').split(' ')[0] as 'deny' | 'direct' | 'sockd');
  const servers = row.get('servers');
  if (servers === '—') t.is(rule.servers, undefined);
  else if (servers.startsWith('default')) t.deepEqual(rule.servers?.entries ?? [], []);
  else
    t.deepEqual(
      rule.servers?.entries,
      servers.split(',').map((s) => s.trim()),
    );
}

/** Interface choice rows (sockd.route): route line and listening address, plus the logs. */
async function interfaceRow(t: ExecutionContext, doc: Doc, _table: MdTable, row: MdRow) {
  const fileCell = row.get('file');
  const config = fileCell.startsWith('(no route file') ? null : routeConfig(fileCell);
  const dst = await hostFromCell(doc.resolver, row.get('BIND DSTIP'));
  const choice = config ? chooseInterface(config, dst) : null;
  t.is(choice?.rule.line ?? null, lineFromCell(row.get('route line')), 'route line');
  const address = row.get('listening address in the first reply');
  t.is(choice?.iface ?? null, /^\d/.test(address) ? address : null, 'listening interface');
  // The same through the checker (with a permit-all sockd.conf): the classic log lines.
  const permitAll = parseSockdConf('permit 0.0.0.0 0.0.0.0\n', { file: 'permit-all.conf' });
  const routeFile = config?.file ?? '/etc/sockd.route';
  const checked = await checkSockdConf({
    user: 'u',
    src: '10.200.0.1',
    dst: dst.dotted,
    service: '21',
    simulation: { kind: 'legacy', flag: 'none' },
    config: permitAll,
    route: { file: routeFile, config },
    resolver: doc.resolver,
    userFiles: specUserFiles,
    services: builtinServices,
    pid: PID,
  });
  t.is(checked.permitted, choice !== null);
  for (const snippet of backticked(row.get('notes')).filter((s) => /^(\*\*\*|Unable)/.test(s))) {
    t.true(checked.lines.includes(snippet), `${snippet} in ${JSON.stringify(checked.lines)}`);
  }
}

function routeParsedRow(t: ExecutionContext, doc: Doc, table: MdTable, row: MdRow) {
  const config = routeConfig(subjectFile(doc, table));
  const route = config.routes.find((r) => r.line === Number(row.get('line')));
  if (!route) return t.fail(`no route at line ${row.get('line')}`);
  t.is(dotted(route.iface), row.get('interface'));
}

type RowCheck = (t: ExecutionContext, doc: Doc, table: MdTable, row: MdRow) => void | Promise<void>;

function kindOf(table: MdTable): RowCheck | undefined {
  const h = new Set(table.header);
  if (h.has('src ip') && h.has('reply')) return serverRequestRow;
  if (h.has('PTR answer')) return dnsRow;
  if (h.has('routing result') || (h.has('result') && h.has('destination'))) return routeRow;
  if (h.has('BIND DSTIP')) return interfaceRow;
  if (h.has('servers') && h.has('action')) return clientParsedRow;
  if (h.has('interface') && h.has('destination pattern')) return routeParsedRow;
  if (h.has('action') && h.has('line')) return serverParsedRow;
  if (h.has('line') && (h.has('text') || h.has('text (abridged)'))) return lineTextRow;
  return undefined;
}

for (const doc of docs) {
  for (const table of doc.tables) {
    const check = kindOf(table);
    if (!check) {
      test(`${doc.name}:${table.line}: the table is one this suite understands`, (t) => {
        t.fail(`unrecognised table header ${table.header.join(' | ')}`);
      });
      continue;
    }
    for (const row of table.rows) {
      const id = row.get('#') || `line ${row.get('line')}`;
      const why = row.get('why') || row.get('notes') || row.get('reason') || row.get('parsed meaning');
      test(`${doc.name} ${table.heading} ${id}: ${why || row.cells.slice(1, 4).join(' ')}`, (t) =>
        check(t, doc, table, row));
    }
  }
}

test('every expect.md file contributes rows', (t) => {
  t.true(docs.length >= 6);
  for (const doc of docs)
    t.true(
      doc.tables.some((tb) => tb.rows.length > 0),
      doc.name,
    );
});
