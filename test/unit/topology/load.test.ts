import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { TopologyError, type TopologyErrorCode } from '../../../src/topology/errors.ts';
import { topologyJsonSchemaText } from '../../../src/topology/json-schema.ts';
import { loadTopology, parseTopologyText } from '../../../src/topology/load.ts';

const header = '# yaml-language-server: $schema=topology.schema.json\n';

/** Loads `text` as /tmp/…/t.yaml and returns the TopologyError it must throw. */
async function failure(text: string, files: Record<string, string> = {}): Promise<TopologyError> {
  const dir = await mkdtemp(path.join(tmpdir(), 'topo-'));
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
  const file = path.join(dir, 't.yaml');
  try {
    await parseTopologyText(header + text, file);
  } catch (err) {
    if (err instanceof TopologyError) return err;
    throw err;
  }
  throw new Error('expected a TopologyError');
}

function only(err: TopologyError, code: TopologyErrorCode) {
  const issues = err.issues.filter((i) => i.code === code);
  if (issues.length !== 1) throw new Error(`expected one ${code}, got:\n${err.message}`);
  return issues[0]!;
}

const twoHosts = `
networks:
  lan: { subnet: 10.1.0.0/24 }
hosts:
  C: { role: client, addresses: [lan], users: { x: 1001 } }
  B:
    role: sockd
    addresses: { lan: 10.1.0.1 }
    server:
      sockd.conf: |
        permit 10.1.0.0 255.255.255.0
`;

test('a valid topology resolves defaults, auto addresses and implicit users', async (t) => {
  const { topology } = await parseTopologyText(
    `${header}
networks:
  lan: { subnet: 10.1.0.0/24 }
defaults:
  roles:
    client: { identd: truthful, users: { x: 1001 } }
hosts:
  B:
    role: sockd
    addresses: { lan: 10.1.0.1 }
    server:
      sockd.conf: |
        permit 10.1.0.0 255.255.255.0
  C1: { role: client, addresses: [lan] }
  C2: { role: client, addresses: { lan: auto }, users: { y: 1002 } }
`,
    '/tmp/x/defaults.yaml',
  );
  t.is(topology.name, 'defaults');
  const c1 = topology.hosts.find((h) => h.name === 'C1')!;
  const c2 = topology.hosts.find((h) => h.name === 'C2')!;
  t.deepEqual(c1.interfaces, [{ network: 'lan', address: '10.1.0.2' }]);
  t.deepEqual(c2.interfaces, [{ network: 'lan', address: '10.1.0.3' }]);
  t.deepEqual(c1.identd?.behaviour, { kind: 'truthful' });
  t.deepEqual(
    c2.users.map((u) => u.name),
    ['x', 'y', 'root', 'nobody'],
  );
  t.true(Object.isFrozen(topology.hosts[0]?.interfaces));
  t.is(topology.hosts.find((h) => h.name === 'B')?.server?.owner, 'root');
});

test('an unknown key is an error at the key with a suggestion and the known keys', async (t) => {
  const err = await failure(twoHosts.replace('addresses: [lan]', 'adresses: [lan]'));
  const issue = only(err, 'E_TOPO_UNKNOWN_KEY');
  t.deepEqual(issue.path, ['hosts', 'C', 'adresses']);
  t.is(issue.line, 6);
  t.regex(
    issue.message,
    /unknown key `adresses`; did you mean `addresses`\? known keys: role, description, addresses/,
  );
  t.regex(err.message, /t\.yaml:6:\d+: hosts\.C\.adresses: unknown key/);
});

test('an unknown role names the known roles', async (t) => {
  const err = await failure(twoHosts.replace('role: sockd', 'role: sokd'));
  const issue = only(err, 'E_TOPO_VALUE');
  t.is(issue.line, 8);
  t.is(issue.column, 11);
  t.regex(
    issue.message,
    /unknown role `sokd`; did you mean `sockd`\? known roles: client, rsockd, sockd, identd-only, echo/,
  );
});

test('a subnet with host bits set is rejected with the corrected block', async (t) => {
  const err = await failure(twoHosts.replace('10.1.0.0/24', '10.1.0.1/24'));
  const issue = only(err, 'E_TOPO_SUBNET');
  t.deepEqual(issue.path, ['networks', 'lan', 'subnet']);
  t.is(issue.line, 4);
  t.regex(issue.message, /host bits set; did you mean 10\.1\.0\.0\/24\?/);
});

test('an address outside its subnet is reported at the address', async (t) => {
  const err = await failure(twoHosts.replace('lan: 10.1.0.1', 'lan: 10.9.0.1'));
  const issue = only(err, 'E_TOPO_ADDRESS');
  t.deepEqual(issue.path, ['hosts', 'B', 'addresses', 'lan']);
  t.is(issue.line, 9);
  t.regex(issue.message, /address 10\.9\.0\.1 is outside network lan \(10\.1\.0\.0\/24\)/);
});

test('a duplicate address names the host that has it', async (t) => {
  const err = await failure(twoHosts.replace('addresses: [lan]', 'addresses: { lan: 10.1.0.1 }'));
  const issue = only(err, 'E_TOPO_DUPLICATE');
  t.regex(issue.message, /address 10\.1\.0\.1 is already taken by C \(on lan\)/);
  t.deepEqual(issue.path, ['hosts', 'B', 'addresses', 'lan']);
});

test('a host defined twice is a duplicate with the first line', async (t) => {
  const err = await failure(`${twoHosts}  C: { role: client, addresses: [lan] }\n`);
  const issue = only(err, 'E_TOPO_DUPLICATE');
  t.is(issue.line, 13);
  t.regex(issue.message, /`C` is defined twice \(first on line 6\)/);
});

test('an unknown network gets a suggestion', async (t) => {
  const err = await failure(twoHosts.replace('addresses: [lan]', 'addresses: [lna]'));
  t.regex(only(err, 'E_TOPO_REFERENCE').message, /unknown network `lna`; did you mean `lan`\?/);
});

test('a bad line inside an inline sockd.conf points at its YAML line and column', async (t) => {
  const err = await failure(
    twoHosts.replace(
      'permit 10.1.0.0 255.255.255.0\n',
      'permit 10.1.0.0 255.255.255.0\n        permit ?=x 10.1.0.0 255.255.255.0\n',
    ),
  );
  const issue = only(err, 'E_TOPO_CONFIG');
  // header line 1, blank line 2: the second config line is on YAML line 13, `?=x` at column 16.
  t.is(issue.line, 13);
  t.is(issue.column, 16);
  t.deepEqual(issue.path, ['hosts', 'B', 'server', 'sockd.conf']);
  t.regex(issue.message, /sockd\.conf line 2: .*Invalid \?= field at line 2 in file sockd\.conf/);
  t.is(issue.excerpt[0], '        permit ?=x 10.1.0.0 255.255.255.0');
  t.is(issue.excerpt[1], '               ^');
});

test('a bad line in a referenced config file names that file and line', async (t) => {
  const err = await failure(
    twoHosts.replace(
      'sockd.conf: |\n        permit 10.1.0.0 255.255.255.0\n',
      'sockd.conf: { file: a.conf }\n',
    ),
    { 'a.conf': '# ok\nallow 10.1.0.0 255.255.255.0\n' },
  );
  const issue = only(err, 'E_TOPO_CONFIG');
  t.regex(issue.message, /a\.conf:2:1: .*Invalid permit\/deny field at line 2 in file sockd\.conf/);
});

test('a missing config file is reported at its `file` key', async (t) => {
  const err = await failure(
    twoHosts.replace(
      'sockd.conf: |\n        permit 10.1.0.0 255.255.255.0\n',
      'sockd.conf: { file: gone.conf }\n',
    ),
  );
  t.regex(only(err, 'E_TOPO_FILE').message, /cannot read gone\.conf .*no such file/);
});

test('a socks.conf upstream that runs no server is an error at the server list', async (t) => {
  const err = await failure(
    `${twoHosts}  R:
    role: rsockd
    addresses: [lan]
    server:
      sockd.conf: |
        permit 0.0.0.0 0.0.0.0
      socks.conf: |
        sockd @=10.1.0.1,C,10.1.0.99 ALL
`,
  );
  const issues = err.issues.filter((i) => i.code === 'E_TOPO_UPSTREAM');
  t.is(issues.length, 2);
  t.regex(issues[0]!.message, /upstream `C` is host C \(role client\), which runs no SOCKS server/);
  t.regex(issues[1]!.message, /upstream `10\.1\.0\.99` is not a host or address of this topology/);
  t.is(issues[0]!.line, 20);
  t.is(issues[0]!.column, 15);
});

test('a server user that is not a host user is an error', async (t) => {
  const err = await failure(twoHosts.replace('server:\n', 'server:\n      user: nobdy\n'));
  t.regex(
    only(err, 'E_TOPO_REFERENCE').message,
    /server user `nobdy` is not a user of B; did you mean `nobody`\?/,
  );
});

test('a role that needs a server without one, and a client with one, are role errors', async (t) => {
  const err = await failure(`
networks:
  lan: { subnet: 10.1.0.0/24 }
hosts:
  B: { role: rsockd, addresses: [lan] }
  C:
    role: client
    addresses: [lan]
    server: { sockd.conf: "permit 0.0.0.0 0.0.0.0" }
  z: { role: echo, addresses: [lan] }
`);
  const messages = err.issues.filter((i) => i.code === 'E_TOPO_ROLE').map((i) => i.message);
  t.deepEqual(messages, [
    'host B has role rsockd but no `server` section',
    'host C has role client, which runs no server; use role rsockd or sockd, or remove `server`',
    'host z has role echo but no `echo` services; add e.g. `echo: [7]`',
  ]);
});

test('an unreadable topology file is a file error', async (t) => {
  const err = await t.throwsAsync(loadTopology('/nonexistent/t.yaml'), { instanceOf: TopologyError });
  t.is(err?.code, 'E_TOPO_FILE');
});

test('YAML syntax errors carry a position', async (t) => {
  const err = await failure('networks: [\n');
  t.is(err.issues[0]?.code, 'E_TOPO_YAML');
  t.true((err.issues[0]?.line ?? 0) > 0);
});

test('a config given as a file is read relative to the topology file', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'topo-'));
  await writeFile(path.join(dir, 'b.sockd.conf'), 'permit 10.1.0.0 255.255.255.0\n');
  const text =
    header +
    twoHosts.replace(
      'sockd.conf: |\n        permit 10.1.0.0 255.255.255.0\n',
      'sockd.conf: { file: b.sockd.conf }\n',
    );
  await writeFile(path.join(dir, 't.yaml'), text);
  const topology = await loadTopology(path.join(dir, 't.yaml'));
  const conf = topology.hosts.find((h) => h.name === 'B')?.server?.sockdConf;
  t.is(conf?.text, 'permit 10.1.0.0 255.255.255.0\n');
  t.deepEqual(conf?.origin, { file: path.join(dir, 'b.sockd.conf'), line: 1, column: 1, inline: false });
});

test('a host name that breaks the name rules is reported at the key', async (t) => {
  const err = await failure(twoHosts.replace('  C: {', '  "C D": {'));
  const issue = only(err, 'E_TOPO_VALUE');
  t.is(issue.line, 6);
  t.is(issue.column, 3);
  t.regex(issue.message, /host name `C D` must start with a letter or digit/);
});

test('inside a union, the branch that got furthest explains the error', async (t) => {
  const err = await failure(
    twoHosts.replace('users: { x: 1001 }', 'users: { x: 1001 }, echo: [{ port: 7, kind: echoo }]'),
  );
  const issue = only(err, 'E_TOPO_VALUE');
  t.deepEqual(issue.path, ['hosts', 'C', 'echo', 0, 'kind']);
  t.regex(
    issue.message,
    /unknown kind `echoo`; did you mean `echo`\? known kinds: echo, discard, http-ok, banner/,
  );
});

test('identd forms: a behaviour, true/false, or an object whose behaviour defaults to truthful', async (t) => {
  const { topology } = await parseTopologyText(
    `${header}
networks:
  lan: { subnet: 10.1.0.0/24 }
defaults:
  hosts: { identd: true }
hosts:
  a: { role: client, addresses: [lan] }
  b: { role: client, addresses: [lan], identd: false }
  c: { role: client, addresses: [lan], identd: { port: 1113 } }
  d: { role: client, addresses: [lan], identd: "error:HIDDEN-USER" }
  e: { role: client, addresses: [lan], identd: lying:root }
  f: { role: client, addresses: [lan], identd: none }
`,
    '/tmp/x/identd.yaml',
  );
  const identd = Object.fromEntries(topology.hosts.map((h) => [h.name, h.identd]));
  t.deepEqual(identd.a, { behaviour: { kind: 'truthful' }, port: 113 });
  t.is(identd.b, undefined);
  t.deepEqual(identd.c, { behaviour: { kind: 'truthful' }, port: 1113 });
  t.deepEqual(identd.d?.behaviour, { kind: 'error', error: 'HIDDEN-USER' });
  t.deepEqual(identd.e?.behaviour, { kind: 'lying', user: 'root' });
  t.is(identd.f, undefined);
});

test('the loaded topology carries each config parsed and frozen beside its text, and the configs map is a view of them', async (t) => {
  const text = twoHosts.replace(
    'users: { x: 1001 } }',
    'users: { x: 1001 }, socks.conf: "sockd @=B ALL\\n" }',
  );
  const { topology, configs } = await parseTopologyText(header + text, path.join(tmpdir(), 't.yaml'));
  const b = topology.hosts.find((h) => h.name === 'B')!;
  const parsed = b.server?.sockdConf.parsed;
  if (!parsed?.ok) return t.fail('sockd.conf parses');
  t.is(parsed.config.rules[0]?.line, 1);
  t.is(parsed.config.rules[0]?.action, 'permit');
  t.true(Object.isFrozen(parsed.config) && Object.isFrozen(parsed.config.rules[0]));
  t.is(b.server?.sockdConf.text, 'permit 10.1.0.0 255.255.255.0\n');
  t.is(configs.get('B')?.server, parsed.config, 'the map holds the model’s own object');
  const c = topology.hosts.find((h) => h.name === 'C')!;
  t.is(configs.get('C')?.probeClient?.rules[0]?.servers?.entries[0], 'B');
  t.is(
    configs.get('C')?.probeClient,
    c.clientSocksConf?.parsed.ok ? c.clientSocksConf.parsed.config : undefined,
  );
});

test('loaded for drawing, a config that does not parse stays in the model with its error instead of failing the load', async (t) => {
  const broken = twoHosts.replace('permit 10.1.0.0 255.255.255.0', 'allow everything');
  const err = await failure(broken);
  t.is(only(err, 'E_TOPO_CONFIG').line, 12);
  const { topology, configs } = await parseTopologyText(header + broken, path.join(tmpdir(), 't.yaml'), {
    invalidConfigs: 'keep',
  });
  const conf = topology.hosts.find((h) => h.name === 'B')?.server?.sockdConf;
  if (conf?.parsed.ok !== false) return t.fail('sockd.conf is kept invalid');
  t.is(conf.parsed.error.errors[0]?.classic, 'Invalid permit/deny field at line 1 in file sockd.conf');
  t.deepEqual(configs.get('B'), {});
});

test('an alias with no anchor is a YAML error at the alias, with file, line and column', async (t) => {
  const err = await failure('name: t\nnetworks:\n  lan: { subnet: 10.1.0.0/24 }\nhosts:\n  C: *client\n');
  t.is(err.issues.length, 1);
  t.like(err.issues[0], { code: 'E_TOPO_YAML', line: 6, column: 6 });
  t.regex(err.issues[0]!.message, /unknown alias \*client: no anchor &client before it/);
  t.regex(err.message, /:6:6/);
});

test('aliases that would expand without bound are a YAML error at the first alias', async (t) => {
  const laughs = [
    'a: &a [x, x, x, x, x, x, x, x, x, x]',
    'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
    'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
    'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
    'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
  ].join('\n');
  const err = await failure(`${laughs}\n`);
  t.like(err.issues[0], { code: 'E_TOPO_YAML', line: 3, column: 8 });
  t.regex(err.issues[0]!.message, /aliases cannot be expanded/);
});

test('a host without an identd: key runs no identd, as the schema says; identd-only hosts run a truthful one', async (t) => {
  const { topology } = await parseTopologyText(
    `${header}name: t
networks:
  lan: { subnet: 10.1.0.0/24 }
hosts:
  S:
    role: sockd
    addresses: [lan]
    server:
      sockd.conf: |
        permit 10.1.0.0 255.255.255.0
  I:
    role: identd-only
    addresses: [lan]
  T:
    role: client
    addresses: [lan]
    identd: { port: 113 }
`,
    path.join(tmpdir(), 't.yaml'),
  );
  const identd = (name: string) => topology.hosts.find((h) => h.name === name)?.identd?.behaviour.kind;
  t.is(identd('S'), undefined);
  t.is(identd('I'), 'truthful');
  t.is(identd('T'), 'truthful');
  // The schema text, which editors show, says the same.
  const text = topologyJsonSchemaText();
  t.false(text.includes('truthful (default)'));
  t.regex(text, /Without this key a host runs no identd/);
});
