import { readdir, readFile } from 'node:fs/promises';
import test from 'ava';
import { parseScenarioText } from '../../../src/scenario/load.ts';
import { resolveScenario } from '../../../src/scenario/resolve.ts';
import { scenarioJsonSchema } from '../../../src/scenario/schema.ts';
import { configPosition } from '../../../src/topology/config-texts.ts';
import { projectRoot, seedCascade } from '../../helpers/seed-topology.ts';

const header = '# yaml-language-server: $schema=scenario.schema.json\n';

const minimal = `${header}topology: seed-cascade
cases:
  - name: x reaches z
    from: C
    user: x
    connect: z:7
    send: hello
    expect:
      reply: granted
      path: [C, B, A, z]
      rules: [{ host: B, file: sockd.conf, line: 2 }]
      identd: { B: x, A: none }
      echo: true
`;

async function resolveText(text: string) {
  return resolveScenario(parseScenarioText(text, 'scenarios/t.yaml'), await seedCascade());
}

test('a minimal case resolves to one probe request through the origin socks.conf', async (t) => {
  const s = await resolveText(minimal);
  t.is(s.cases.length, 1);
  const c = s.cases[0]!;
  t.deepEqual(c.request.target, { host: 'z', port: 7 });
  t.is(c.request.useSocksConf, true);
  t.is(c.request.via, undefined);
  t.is(c.protocol, 'socks4');
  t.is(c.expect.reply, 90);
  t.deepEqual(c.expect.identd, [
    { host: 'B', user: 'x' },
    { host: 'A', none: true },
  ]);
  t.deepEqual(c.source, { file: 'scenarios/t.yaml', line: 4, column: 5 });
});

test('an unknown key is an error naming file, YAML path and line:col', (t) => {
  const text = minimal.replace('    send: hello\n', '    sned: hello\n');
  const err = t.throws(() => parseScenarioText(text, 'scenarios/t.yaml'));
  t.is((err as { code?: string }).code, 'E_SCENARIO_UNKNOWN_KEY');
  t.regex(
    err!.message,
    /^scenarios\/t\.yaml: cases\[0\]\.sned \(8:5\): unknown key "sned"; known keys: .*send/,
  );
});

test('an unknown expectation key is an error listing the known expectation keys', (t) => {
  const text = minimal.replace('      echo: true\n', '      echoed: true\n');
  const err = t.throws(() => parseScenarioText(text, 'scenarios/t.yaml'));
  t.regex(
    err!.message,
    /cases\[0\]\.expect\.echoed \(14:7\): unknown key "echoed"; known keys: .*identd.*reply/,
  );
});

test('a reply name the protocol does not know is an error at the reply', async (t) => {
  const err = await t.throwsAsync(resolveText(minimal.replace('reply: granted', 'reply: granteed')));
  t.regex(err!.message, /cases\[0\]\.expect\.reply \(10:14\): unknown reply "granteed" for socks4/);
});

test('reply names resolve per protocol: rejected is 91 in SOCKS 4 and 0x02 in SOCKS 5', async (t) => {
  const s4 = await resolveText(minimal.replace('reply: granted', 'reply: rejected'));
  t.is(s4.cases[0]!.expect.reply, 91);
  const s5 = await resolveText(
    minimal
      .replace('reply: granted', 'reply: rejected')
      .replace('    connect: z:7', '    protocol: socks5\n    connect: z:7'),
  );
  t.is(s5.cases[0]!.expect.reply, 2);
  const n = await resolveText(minimal.replace('reply: granted', 'reply: 93'));
  t.is(n.cases[0]!.expect.reply, 93);
});

test('a host the topology does not have is an error that lists the hosts', async (t) => {
  const err = await t.throwsAsync(resolveText(minimal.replace('from: C', 'from: Q')));
  t.regex(err!.message, /cases\[0\]\.from \(5:11\): unknown host "Q"; hosts: A, B, C, z/);
});

test('a scenario naming another topology is refused', async (t) => {
  const err = await t.throwsAsync(resolveText(minimal.replace('topology: seed-cascade', 'topology: campus')));
  t.is((err as { code?: string }).code, 'E_SCENARIO_TOPOLOGY');
});

test('a matrix expands a case over every combination and substitutes placeholders in expectations', async (t) => {
  const text = minimal
    .replace('    connect: z:7\n', '    connect: z:7\n    matrix: { user: [x, nobody], port: [7, 80] }\n')
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the scenario DSL's placeholder
    .replace('identd: { B: x, A: none }', 'identd: { B: "${user}" }');
  const s = await resolveText(text);
  t.deepEqual(
    s.cases.map((c) => c.name),
    [
      'x reaches z [user=x, port=7]',
      'x reaches z [user=x, port=80]',
      'x reaches z [user=nobody, port=7]',
      'x reaches z [user=nobody, port=80]',
    ],
  );
  t.deepEqual(
    s.cases.map((c) => [c.request.user, c.request.target.port, c.expect.identd[0]!.user]),
    [
      ['x', 7, 'x'],
      ['x', 80, 'x'],
      ['nobody', 7, 'nobody'],
      ['nobody', 80, 'nobody'],
    ],
  );
});

test('steps become typed fault steps, and bind cases carry their peer', async (t) => {
  const text = `${header}topology: seed-cascade
defaults: { timeout: 2s }
cases:
  - name: bind
    from: C
    user: x
    via: B
    bind: { host: z, port: 21, peer: z }
    steps:
      - identd: { host: C, behaviour: { lying: mallory } }
      - stop: A
      - cut: dmz
      - replaceConfig: { host: B, file: sockd.conf, text: "deny 0.0.0.0 0.0.0.0\\n", reloaded: true }
      - wait: 50ms
    cleanup: [{ start: A }, { restore: dmz }, { identd: { host: C, behaviour: truthful } }]
    expect: { reply: granted, secondReply: granted }
`;
  const c = (await resolveText(text)).cases[0]!;
  t.is(c.request.command, 'bind');
  t.deepEqual(c.request.bindPeer, { from: 'z' });
  t.is(c.request.via, 'B');
  t.is(c.timeoutMs, 2000);
  t.deepEqual(
    c.steps.map((s) => s.kind),
    ['identd', 'stop', 'cut', 'replaceConfig', 'wait'],
  );
  t.deepEqual(c.steps[0], { kind: 'identd', host: 'C', behaviour: { kind: 'lying', user: 'mallory' } });
  t.deepEqual(c.steps[4], { kind: 'wait', ms: 50 });
  t.is(c.cleanup.length, 3);
});

test('a replaceConfig text is parsed once at resolution; a bad one stays a step, its error placed at its scenario line', async (t) => {
  const text = `${header}topology: seed-cascade
cases:
  - name: reload
    from: C
    user: x
    connect: z:7
    steps:
      - replaceConfig: { host: B, file: sockd.conf, text: "deny 0.0.0.0 0.0.0.0\\n" }
      - replaceConfig:
          host: B
          file: sockd.conf
          reloaded: false
          text: |
            permit 10.1.0.0 255.255.255.0
            allow everything
    expect: { reply: granted }
`;
  const [good, bad] = (await resolveText(text)).cases[0]!.steps;
  if (good?.kind !== 'replaceConfig' || bad?.kind !== 'replaceConfig')
    return t.fail('two replaceConfig steps');
  t.true(good.config.parsed.ok);
  t.is(good.config.parsed.ok && good.config.parsed.config.kind, 'sockd.conf');
  t.is(bad.text, 'permit 10.1.0.0 255.255.255.0\nallow everything\n');
  t.is(bad.config.text, bad.text);
  if (bad.config.parsed.ok) return t.fail('the second text does not parse');
  const [only, ...more] = bad.config.parsed.error.errors;
  t.deepEqual(more, []);
  t.is(only?.line, 2);
  t.is(only?.code, 'E_CONF_ACTION');
  // Line 2 of the block is line 16 of the scenario file; the block is indented by 12 columns.
  t.deepEqual(configPosition(bad.config, only?.line ?? 0, only?.column ?? 0), {
    file: 'scenarios/t.yaml',
    line: 16,
    column: 13,
  });
});

test('the first hop may be a host, host:port or an address; an unknown host is an error', async (t) => {
  for (const via of ['B', 'B:1080', '10.1.0.1', '10.1.0.1:1080']) {
    const s = await resolveText(minimal.replace('    send: hello\n', `    send: hello\n    via: "${via}"\n`));
    t.is(s.cases[0]!.request.via, via);
    t.is(s.cases[0]!.request.useSocksConf, undefined);
  }
  const err = await t.throwsAsync(
    resolveText(minimal.replace('    send: hello\n', '    send: hello\n    via: Q\n')),
  );
  t.regex(err!.message, /cases\[0\]\.via \(9:10\): unknown host "Q"/);
});

test('log matchers: /re/flags shorthand is a regex, contains is always literal, a bad regex is an error', async (t) => {
  const text = minimal.replace(
    '      echo: true\n',
    '      echo: true\n      logs: ["/^refused/i", "plain /etc/x", { host: A, contains: "/etc/sockd/dept.users" }, { regex: "a+b" }]\n',
  );
  const logs = (await resolveText(text)).cases[0]!.expect.logs;
  t.deepEqual(logs, [
    { regex: { source: '^refused', flags: 'i' }, text: '/^refused/i' },
    { contains: 'plain /etc/x', text: 'plain /etc/x' },
    { host: 'A', contains: '/etc/sockd/dept.users', text: '/etc/sockd/dept.users' },
    { regex: { source: 'a+b', flags: '' }, text: '/a+b/' },
  ]);
  const err = await t.throwsAsync(
    resolveText(minimal.replace('      echo: true\n', '      echo: true\n      logs: ["/(/"]\n')),
  );
  t.regex(err!.message, /cases\[0\]\.expect\.logs\[0\] \(15:14\): bad regular expression/);
});

test('a network the topology does not have is an error in a step', async (t) => {
  const text = minimal.replace('    send: hello\n', '    send: hello\n    steps: [{ cut: wan }]\n');
  const err = await t.throwsAsync(resolveText(text));
  t.regex(err!.message, /cases\[0\]\.steps\[0\]\.cut \(9:20\): unknown network "wan"/);
});

test('scenarios/scenario.schema.json is generated from the current schema', async (t) => {
  const committed = await readFile(`${projectRoot}scenarios/scenario.schema.json`, 'utf8');
  t.is(committed, scenarioJsonSchema(), 'run: npx tsx src/scenario/write-schema.ts');
});

test('every scenario file starts with the yaml-language-server schema line', async (t) => {
  const files = (await readdir(`${projectRoot}scenarios`)).filter((f) => f.endsWith('.yaml'));
  t.true(files.length > 0, 'scenarios/ holds the reference scenario suites');
  for (const f of files) {
    const text = await readFile(`${projectRoot}scenarios/${f}`, 'utf8');
    t.true(text.startsWith(header), `${f} must start with ${header.trim()}`);
  }
});

test('a user who is not an account of the origin host is an input error at the user key', async (t) => {
  const err = await t.throwsAsync(resolveText(minimal.replace('user: x', 'user: mallory')));
  t.is((err as { code?: string }).code, 'E_SCENARIO_USER');
  t.regex(
    err!.message,
    /scenarios\/t\.yaml: cases\[0\]\.user \(6:11\): user "mallory" is not an account of host C; its users: x, root, nobody/,
  );
  // In a matrix the error points at the matrix's list.
  const matrix = await t.throwsAsync(
    resolveText(minimal.replace('    connect: z:7\n', '    connect: z:7\n    matrix: { user: [x, eve] }\n')),
  );
  t.regex(matrix!.message, /cases\[0\]\.matrix\.user \(8:21\): user "eve" is not an account of host C/);
});

test('a claimed USERID may be anything: only the owner of the socket must be an account', async (t) => {
  const s = await resolveText(minimal.replace('user: x', 'user: x\n    claim: mallory'));
  t.is(s.cases[0]!.request.user, 'x');
  t.is(s.cases[0]!.request.claim, 'mallory');
});

test('an alias with no anchor is a YAML error with file, line and column', async (t) => {
  const err = await t.throwsAsync(
    resolveText(minimal.replace('    expect:\n', '    tags: *common\n    expect:\n')),
  );
  t.is((err as { code?: string }).code, 'E_SCENARIO_YAML');
  t.regex(
    err!.message,
    /^scenarios\/t\.yaml: \(9:11\): unknown alias \*common: no anchor &common before it$/,
  );
});
