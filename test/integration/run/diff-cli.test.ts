import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { projectRoot } from '../../helpers/seed-topology.ts';

/**
 * `sockslab diff` end to end: exit 0 no change / 1 changes / 2 bad input, --json, --markdown,
 * directories of config files laid over one topology, and --confirm on the local runtime (real
 * loopback sockets, servers in-process: each changed witness replayed on both designs).
 */
const cli = join(projectRoot, 'src/cli/sockslab.ts');
const sockslab = (args: readonly string[]) =>
  execa('node', ['--import=tsx', cli, ...args], {
    cwd: projectRoot,
    reject: false,
    env: { CI: '1' },
    timeout: 300_000,
  });
const seed = 'topologies/seed-cascade.yaml';
const fixture = (name: string) => `test/fixtures/diff/${name}`;

test('diff exits 0 with "no change" for a design against itself', async (t) => {
  const r = await sockslab(['diff', seed, seed]);
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout, /^472 classes in the joint space of both designs, 472 compared: no change$/m);
});

test('diff exits 1 and names each changed class with its witness, differences and both traces', async (t) => {
  const r = await sockslab(['diff', seed, fixture('identd-flag.yaml')]);
  t.is(r.exitCode, 1, r.stderr);
  t.regex(r.stdout, /^472 classes in the joint space of both designs, 472 compared: 4 changed$/m);
  t.regex(r.stdout, /^3\. C socks4 x → z 198\.51\.100\.10 port 80$/m);
  t.regex(r.stdout, /^ {3}witness: from C as x, socks4 CONNECT 198\.51\.100\.10:80$/m);
  t.regex(r.stdout, /^ {3}verdict: identd → granted$/m);
  t.regex(r.stdout, /^ {3}A: sockd\.conf:4 deny \(identd-mismatch\) → sockd\.conf:4 permit$/m);
  // The two traces side by side: before │ after.
  t.regex(
    r.stdout,
    /A: permit sockd\.conf:4; identd on B says nobody \(mismatch\) → 93 │ A: permit sockd\.conf:4\n/,
  );
  t.regex(r.stdout, /│ A connects to z:80$/m);
});

test('diff --json lists every change with both sides; --markdown gives a pull-request comment', async (t) => {
  const json = await sockslab(['diff', seed, fixture('port.yaml'), '--json']);
  t.is(json.exitCode, 1, json.stderr);
  const d = JSON.parse(json.stdout);
  t.is(d.classes, 600);
  t.is(d.compared, 600);
  t.is(d.changes.length, 8);
  const z7 = d.changes.find((c: { id: string }) => c.id === 'C|socks4|x|addr:198.51.100.10|7');
  t.deepEqual(z7.witness, {
    from: 'C',
    user: 'x',
    protocol: 'socks4',
    command: 'connect',
    target: { host: '198.51.100.10', port: 7 },
    useSocksConf: true,
  });
  t.is(z7.before.verdict, 'granted');
  t.is(z7.after.verdict, 'refused');
  t.deepEqual(z7.after.hops[1], {
    host: 'A',
    decision: 'sockd.conf:5 deny',
    reason: 'rule',
    user: 'x',
    identd: 'none',
    route: null,
  });
  const md = await sockslab(['diff', seed, fixture('port.yaml'), '--markdown']);
  t.is(md.exitCode, 1);
  t.regex(
    md.stdout,
    /^### sockslab diff: topologies\/seed-cascade\.yaml → test\/fixtures\/diff\/port\.yaml$/m,
  );
  t.regex(md.stdout, /^\| class \| witness \| what changes \|$/m);
  t.regex(
    md.stdout,
    /^\| C socks4 x → z 198\.51\.100\.10 port 7 \| `from C as x, socks4 CONNECT 198\.51\.100\.10:7` \| verdict: granted → refused<br>/m,
  );
  t.is((md.stdout.match(/<details>/g) ?? []).length, 8);
});

test('diff of two config directories over one topology finds the planted change', async (t) => {
  const r = await sockslab([
    'diff',
    seed,
    '--before',
    fixture('dirs/before'),
    '--after',
    fixture('dirs/after'),
    '--json',
  ]);
  t.is(r.exitCode, 1, r.stderr);
  const d = JSON.parse(r.stdout);
  t.is(d.before, `${seed} + ${fixture('dirs/before')}`);
  // The same four classes as the topology with the same line changed inline.
  const inline = JSON.parse((await sockslab(['diff', seed, fixture('identd-flag.yaml'), '--json'])).stdout);
  t.deepEqual(
    d.changes.map((c: { id: string }) => c.id),
    inline.changes.map((c: { id: string }) => c.id),
  );
  // A decision cites the file's own name, as the server does, not the directory it came from.
  t.is(d.changes[0].after.hops[1].decision, 'sockd.conf:4 permit');
});

test('a directory may carry user files: A/etc/sockd/dept.users is A’s /etc/sockd/dept.users', async (t) => {
  const r = await sockslab(['diff', seed, '--after', fixture('dirs/users'), '--json']);
  t.is(r.exitCode, 1, r.stderr);
  const d = JSON.parse(r.stdout);
  // B lets root out and A's list now names root: root reaches z's echo port through the cascade.
  const rootZ7 = d.changes.find((c: { id: string }) => c.id === 'C|socks4|root|addr:198.51.100.10|7');
  t.is(rootZ7.before.verdict, 'refused');
  t.is(rootZ7.after.verdict, 'granted');
  t.deepEqual(rootZ7.after.path, ['C', 'B', 'A', 'z']);
});

test('bad input exits 2 and names the file, line and column', async (t) => {
  const bad = await sockslab(['diff', seed, '--after', fixture('dirs/bad')]);
  t.is(bad.exitCode, 2);
  t.regex(bad.stderr, /dirs\/bad\/A\/sockd\.conf:5:25: port "seven" is neither a service name nor a number/);
  const stray = await sockslab(['diff', seed, '--after', fixture('dirs/stray')]);
  t.is(stray.exitCode, 2);
  t.regex(
    stray.stderr,
    /dirs\/stray\/Q: expected a directory named after a host of topology seed-cascade \(C, B, A, z\)/,
  );
  const wrong = await sockslab(['diff', seed, '--after', fixture('dirs/wrong')]);
  t.is(wrong.exitCode, 2);
  t.regex(wrong.stderr, /dirs\/wrong\/z\/sockd\.conf: z runs no SOCKS server/);
  const yaml = await sockslab(['diff', seed, 'test/fixtures/diff/no-such.yaml']);
  t.is(yaml.exitCode, 2);
  t.regex(yaml.stderr, /no-such\.yaml.*cannot read the topology: no such file/);
  const args = await sockslab(['diff', seed]);
  t.is(args.exitCode, 2);
  t.regex(args.stderr, /give two topologies/);
});

test('diff --confirm replays every changed witness on the local runtime and confirms each change', async (t) => {
  const r = await sockslab([
    'diff',
    seed,
    fixture('identd-flag.yaml'),
    '--confirm',
    '--runtime',
    'local',
    '--json',
  ]);
  t.is(r.exitCode, 1, r.stderr);
  const d = JSON.parse(r.stdout);
  t.is(d.changes.length, 4);
  for (const c of d.changes) {
    t.is(c.confirmation.runtime, 'local');
    t.true(c.confirmation.confirmed, `${c.id}: ${JSON.stringify(c.confirmation)}`);
  }
  const z = d.changes.find((c: { id: string }) => c.id === 'C|socks4|x|addr:198.51.100.10|80');
  t.is(z.confirmation.before.reply, '91 (rejected)');
  t.deepEqual(z.confirmation.after.path, ['C', 'B', 'A', 'z']);
  const text = await sockslab(['diff', seed, fixture('identd-flag.yaml'), '--confirm']);
  t.regex(text.stdout, /^live: 4 of 4 changes confirmed on local$/m);
});

test('diff --confirm confirms forged-claim changes live too (the claim is sent, identd names the owner)', async (t) => {
  const r = await sockslab(['diff', seed, fixture('user-list-new-name.yaml'), '--confirm', '--json']);
  t.is(r.exitCode, 1, r.stderr);
  const d = JSON.parse(r.stdout);
  t.true(d.changes.length > 0);
  for (const c of d.changes) {
    t.truthy(c.witness.claim);
    t.true(c.confirmation.confirmed, `${c.id}: ${JSON.stringify(c.confirmation)}`);
  }
});
