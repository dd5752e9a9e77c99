import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { execa } from 'execa';
import { FrozenTools, runDump, runMake, type ToolIo } from '../../../src/cli/frozen-tool.ts';
import { fixturePath, readFixture, specTable } from './_spec-tables.ts';

const cli = (name: string) => fileURLToPath(new URL(`../../../src/cli/${name}.ts`, import.meta.url));

function run(name: string, args: readonly string[]) {
  return execa('node', ['--import=tsx', cli(name), ...args], { reject: false });
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sockslab-tools-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function captured(): ToolIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (s) => out.push(s), stderr: (s) => err.push(s) };
}

const edgeGolden = /```\n(line [\s\S]*?)```/.exec(readFixture('sockd.conf.edge.expect.md'))?.[1] ?? '';

test('make_sockdfc freezes sockd.conf.edge and dump_sockdfc prints the golden listing', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'edge.fc');
  const made = await run('make-sockdfc', [fixturePath('sockd.conf.edge'), out]);
  t.is(made.exitCode, 0, made.stderr);
  t.is(made.stderr, '');
  const dumped = await run('dump-sockdfc', [out]);
  t.is(dumped.exitCode, 0);
  t.is(`${dumped.stdout}\n`, edgeGolden);
  t.deepEqual(readdirSync(dir), ['edge.fc']);
});

test('make_sockdfc on sockd.conf.invalid prints every classic error, writes nothing and exits 1', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out.fc');
  const infile = fixturePath('sockd.conf.invalid');
  const result = await run('make-sockdfc', [infile, out]);
  t.is(result.exitCode, 1);
  const table = specTable('sockd.conf.invalid.expect.md', ['line', 'reason']);
  const expected = table.rows.map((row) => {
    const cell = Object.entries(row).find(([h]) => h.startsWith('error'))?.[1] ?? '';
    return `${/`([^`]*)`/.exec(cell)?.[1]} in file ${infile}`;
  });
  t.deepEqual(result.stderr.split('\n'), expected);
  t.deepEqual(readdirSync(dir), []);
});

test('make_* with more than two arguments prints the usage and exits 1', async (t) => {
  const result = await run('make-socksfc', ['a', 'b', 'c']);
  t.is(result.exitCode, 1);
  t.is(result.stderr, 'Usage: make_socksfc [infile [outfile]]');
});

test('make_* says "Cannot open PATH" for a missing input file', async (t) => {
  const dir = tempDir(t);
  const result = await run('make-sockdfr', [join(dir, 'nope'), join(dir, 'x.fr')]);
  t.is(result.exitCode, 1);
  t.is(result.stderr, `Cannot open ${join(dir, 'nope')}`);
  t.false(existsSync(join(dir, 'x.fr')));
});

test('make_socksfc and make_sockdfr round-trip through their dump tools', async (t) => {
  const dir = tempDir(t);
  for (const [make, dump, fixture] of [
    ['make-socksfc', 'dump-socksfc', 'socks.conf'],
    ['make-sockdfr', 'dump-sockdfr', 'sockd.route'],
  ] as const) {
    const out = join(dir, `${fixture}.frozen`);
    t.is((await run(make, [fixturePath(fixture), out])).exitCode, 0);
    const dumped = await run(dump, [out]);
    t.is(dumped.exitCode, 0);
    t.regex(dumped.stdout, /^line \d+: /);
  }
});

test('dump_* refuses a frozen file of another kind and a truncated one with exit 1', async (t) => {
  const dir = tempDir(t);
  const fc = join(dir, 'sockd.fc');
  t.is(runMake('sockd.conf', [fixturePath('sockd.conf'), fc], captured()), 0);
  const wrong = await run('dump-sockdfr', [fc]);
  t.is(wrong.exitCode, 1);
  t.regex(wrong.stderr, new RegExp(`^Error: read from ${fc}: `));
  const cut = join(dir, 'cut.fc');
  writeFileSync(cut, readFileSync(fc).subarray(0, 100));
  const io = captured();
  t.is(runDump('sockd.conf', [cut], io), 1);
  t.regex(io.err.join(''), /^Error: read from .*cut\.fc: payload is \d+ bytes, header says \d+\n$/);
});

test('dump_* with more than one argument prints the usage; a missing file cannot be opened', (t) => {
  const usage = captured();
  t.is(runDump('socks.conf', ['a', 'b'], usage), 1);
  t.deepEqual(usage.err, ['Usage: dump_socksfc [infile]\n']);
  const missing = captured();
  t.is(runDump('socks.conf', ['/nonexistent/socks.fc'], missing), 1);
  t.deepEqual(missing.err, ['Cannot open /nonexistent/socks.fc\n']);
});

test('without arguments the tools use the default files; the infile may be given alone', (t) => {
  const dir = tempDir(t);
  const defaults = { text: join(dir, 'sockd.conf'), frozen: join(dir, 'sockd.fc') };
  writeFileSync(defaults.text, 'permit ALL\n');
  t.is(runMake('sockd.conf', [], captured(), defaults), 0);
  const io = captured();
  t.is(runDump('sockd.conf', [], io, defaults), 0);
  t.deepEqual(io.out, ['line 1: permit ALL 0.0.0.0 0.0.0.0 0.0.0.0\n']);
  writeFileSync(join(dir, 'other.conf'), 'deny ALL\n');
  t.is(runMake('sockd.conf', [join(dir, 'other.conf')], captured(), defaults), 0);
  const again = captured();
  t.is(runDump('sockd.conf', [], again, defaults), 0);
  t.deepEqual(again.out, ['line 1: deny ALL 0.0.0.0 0.0.0.0 0.0.0.0\n']);
  t.deepEqual(FrozenTools['sockd.route'], {
    make: 'make_sockdfr',
    dump: 'dump_sockdfr',
    text: '/etc/sockd.route',
    frozen: '/etc/sockd.fr',
  });
});

test('an invalid text file leaves an existing frozen file untouched', (t) => {
  const dir = tempDir(t);
  const fc = join(dir, 'sockd.fc');
  t.is(runMake('sockd.conf', [fixturePath('sockd.conf.edge'), fc], captured()), 0);
  const before = readFileSync(fc);
  const bad = join(dir, 'bad.conf');
  writeFileSync(bad, 'permit ALL\nallow ALL\n');
  const io = captured();
  t.is(runMake('sockd.conf', [bad, fc], io), 1);
  t.deepEqual(io.err, [`Invalid permit/deny field at line 2 in file ${bad}\n`]);
  t.deepEqual(readFileSync(fc), before);
  t.deepEqual(readdirSync(dir).sort(), ['bad.conf', 'sockd.fc']);
});

test('every entry point starts with a node shebang', (t) => {
  for (const name of [
    'make-sockdfc',
    'dump-sockdfc',
    'make-socksfc',
    'dump-socksfc',
    'make-sockdfr',
    'dump-sockdfr',
  ]) {
    t.true(readFileSync(cli(name), 'utf8').startsWith('#!/usr/bin/env node\n'), name);
  }
});
