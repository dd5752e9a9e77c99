import test from 'ava';
import { parseScenarioText } from '../../../src/scenario/load.ts';
import { resolveScenario } from '../../../src/scenario/resolve.ts';
import { seedCascade } from '../../helpers/seed-topology.ts';

/** `table:` (issue 14.6): one case per row, request keys and expectations merged over `expect`. */

const header = '# yaml-language-server: $schema=scenario.schema.json\ntopology: seed-cascade\ncases:\n';

const tableCase = `${header}  - name: who gets out through B
    from: C
    user: x
    connect: z:7
    expect: { path: [C, B, A, z], identd: { B: x } }
    table:
      - { user: x, port: 7, reply: granted }
      - { port: 22, user: x, reply: rejected, path: [C, B, A] }
      - { user: nobody, port: 22, reply: rejected, path: [C, B], identd: { B: none } }
      - { claim: mallory, reply: bad-id, path: [C, B] }
      - { protocol: socks4a, target: 198.51.100.10, reply: granted }
`;

async function resolveText(text: string, file = 'scenarios/t.yaml') {
  return resolveScenario(parseScenarioText(text, file), await seedCascade());
}

test('each table row becomes one case named by its request keys in a fixed order', async (t) => {
  const s = await resolveText(tableCase);
  t.deepEqual(
    s.cases.map((c) => c.name),
    [
      'who gets out through B [user=x, port=7]',
      // the row wrote port first: the name still reads user, then port
      'who gets out through B [user=x, port=22]',
      'who gets out through B [user=nobody, port=22]',
      'who gets out through B [claim=mallory]',
      'who gets out through B [protocol=socks4a, target=198.51.100.10]',
    ],
  );
  const [granted, port22, bob, forged, socks4a] = s.cases;
  t.deepEqual(granted!.request.target, { host: 'z', port: 7 });
  t.deepEqual(port22!.request.target, { host: 'z', port: 22 });
  t.is(bob!.request.user, 'nobody');
  t.is(forged!.request.user, 'x');
  t.is(forged!.request.claim, 'mallory');
  t.is(granted!.request.claim, undefined);
  t.is(socks4a!.protocol, 'socks4a');
  t.deepEqual(socks4a!.request.target, { host: '198.51.100.10', port: 7 });
});

test("a row's expectations replace the case's key by key and leave the others", async (t) => {
  const s = await resolveText(tableCase);
  const [granted, port22, bob] = s.cases;
  t.is(granted!.expect.reply, 90);
  t.deepEqual(granted!.expect.path, ['C', 'B', 'A', 'z']);
  t.deepEqual(granted!.expect.identd, [{ host: 'B', user: 'x' }]);
  t.is(port22!.expect.reply, 91);
  t.deepEqual(port22!.expect.path, ['C', 'B', 'A']);
  t.deepEqual(port22!.expect.identd, [{ host: 'B', user: 'x' }]);
  t.deepEqual(bob!.expect.identd, [{ host: 'B', none: true }]);
});

test('every row case points at its own row, so a failure names the row', async (t) => {
  const s = await resolveText(tableCase);
  t.deepEqual(
    s.cases.map((c) => c.source.line),
    [10, 11, 12, 13, 14],
  );
  t.is(s.cases[0]!.source.column, 9);
});

test('the expansion is deterministic: the same file gives the same cases', async (t) => {
  const a = await resolveText(tableCase);
  const b = await resolveText(tableCase);
  t.deepEqual(JSON.stringify(a.cases), JSON.stringify(b.cases));
});

test('a table without a case-level expect is allowed; a case with neither is an error', async (t) => {
  const ok = await resolveText(`${header}  - name: rows only
    from: C
    user: x
    connect: z:7
    table:
      - { port: 7, reply: granted }
`);
  t.is(ok.cases[0]!.expect.reply, 90);
  const err = await t.throwsAsync(
    resolveText(`${header}  - name: nothing expected
    from: C
    user: x
    connect: z:7
`),
  );
  t.regex(err!.message, /cases\[0\] \(4:5\): a case needs expect:/);
});

test('a bad reply name in a row is an error at that row, with file:line:col', async (t) => {
  const err = await t.throwsAsync(resolveText(tableCase.replace('reply: bad-id', 'reply: bad-idd')));
  t.regex(
    err!.message,
    /^scenarios\/t\.yaml: cases\[0\]\.table\[3\]\.reply \(13:34\): unknown reply "bad-idd"/,
  );
});

test('an unknown host in a row is an error at that row key', async (t) => {
  const err = await t.throwsAsync(
    resolveText(tableCase.replace('{ user: nobody, port: 22', '{ from: Q, port: 22')),
  );
  t.regex(err!.message, /cases\[0\]\.table\[2\]\.from \(12:17\): unknown host "Q"; hosts: A, B, C, z/);
  const target = await t.throwsAsync(
    resolveText(tableCase.replace('target: 198.51.100.10', 'target: nowhere')),
  );
  t.regex(target!.message, /cases\[0\]\.table\[4\]\.target \(14:38\): unknown destination host "nowhere"/);
});

test('an unknown key in a row is a schema error that lists the row keys', (t) => {
  const err = t.throws(() =>
    parseScenarioText(tableCase.replace('{ user: x, port: 7,', '{ usr: x, port: 7,'), 't.yaml'),
  );
  t.is((err as { code?: string }).code, 'E_SCENARIO_UNKNOWN_KEY');
  t.regex(
    err!.message,
    /cases\[0\]\.table\[0\]\.usr \(10:11\): unknown key "usr"; known keys: .*claim.*port.*reply/,
  );
});

test('two rows with the same request keys are a duplicate case name at the second row', async (t) => {
  const err = await t.throwsAsync(
    resolveText(tableCase.replace('{ port: 22, user: x,', '{ port: 7, user: x,')),
  );
  t.is((err as { code?: string }).code, 'E_SCENARIO_DUPLICATE');
  t.regex(
    err!.message,
    /cases\[0\]\.table\[1\] \(11:9\): duplicate case name "who gets out through B \[user=x, port=7\]"/,
  );
});

test('matrix and table together are refused', async (t) => {
  const err = await t.throwsAsync(
    resolveText(tableCase.replace('    table:\n', '    matrix: { port: [7, 80] }\n    table:\n')),
  );
  t.regex(err!.message, /cases\[0\]\.table .*either matrix or table/);
});

test('claim is the SOCKS 4 USERID: a socks5 case cannot carry one, and a claim equal to the user is no claim', async (t) => {
  const err = await t.throwsAsync(
    resolveText(`${header}  - name: five
    from: C
    user: x
    claim: y
    protocol: socks5
    connect: z:7
    expect: {}
`),
  );
  t.regex(err!.message, /cases\[0\]\.claim \(7:12\): claim is the SOCKS 4 USERID/);
  const same = await resolveText(`${header}  - name: same
    from: C
    user: x
    claim: x
    connect: z:7
    expect: {}
`);
  t.false('claim' in same.cases[0]!.request);
});
