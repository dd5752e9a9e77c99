import { constants, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { root } from '../docker/support.ts';
import { npmEnv, packedTarball } from './pack.ts';

/**
 * Issue 18.1: the npm package. `npm pack` (prepack = build) makes a tarball without tests or
 * sources; it installs into an empty prefix with no registry (`--offline`: the production
 * dependencies are bundled), and every bin then works from a directory outside the repository:
 * rsockd/sockd -ver, the checkers on the shipped example, and `sockslab run` on a shipped topology,
 * whose scenarios are found beside it.
 */

interface Installed {
  readonly tarball: string;
  readonly prefix: string;
  readonly pkg: string;
  /** An empty directory outside the repository, the cwd of every command. */
  readonly elsewhere: string;
  readonly env: Record<string, string>;
}

const manifest = JSON.parse(await fs.readFile(join(root, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  dependencies: Record<string, string>;
};

let installed: Installed | undefined;
let failure: string | undefined;

test.before(async (t) => {
  t.timeout(15 * 60_000);
  const tarball = await packedTarball();
  const base = await fs.mkdtemp(join(tmpdir(), 'sockslab-install-'));
  const prefix = join(base, 'prefix');
  const elsewhere = join(base, 'elsewhere');
  await fs.mkdir(elsewhere);
  const r = await execa(
    'npm',
    ['install', '--global', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', tarball],
    { cwd: elsewhere, env: npmEnv(), extendEnv: false, reject: false, all: true },
  );
  if (r.exitCode !== 0) failure = `npm install -g --offline of ${tarball} failed (${r.exitCode}):\n${r.all}`;
  installed = {
    tarball,
    prefix,
    pkg: join(prefix, 'lib/node_modules/sockslab'),
    elsewhere,
    env: { ...npmEnv(), PATH: `${join(prefix, 'bin')}${delimiter}${process.env.PATH ?? ''}`, CI: '1' },
  };
});

test.after.always(async () => {
  if (installed) await fs.rm(join(installed.prefix, '..'), { recursive: true, force: true });
});

function ready(): Installed {
  if (failure || !installed) throw new Error(failure ?? 'not installed');
  return installed;
}

/** Runs an installed bin by name through PATH, from outside the repository. */
function run(name: string, args: readonly string[], timeout = 60_000) {
  const i = ready();
  return execa(name, args, {
    cwd: i.elsewhere,
    env: i.env,
    extendEnv: false,
    reject: false,
    all: true,
    timeout,
  });
}

test('npm pack ships the built dist/, the example topologies and units, and neither tests, sources nor dev dependencies', async (t) => {
  const i = ready();
  const { stdout } = await execa('tar', ['-tzf', i.tarball]);
  const files = stdout.split('\n').map((f) => f.replace(/^package\//, ''));
  for (const script of Object.values(manifest.bin))
    t.true(files.includes(script), `${script} is in the tarball`);
  t.true(files.includes('topologies/seed-cascade.yaml'));
  t.true(files.includes('scenarios/seed-cascade.yaml'));
  t.true(files.includes('contrib/systemd/rsockd.service'));
  t.deepEqual(
    // Our own files only: bundled dependencies ship whatever their authors published.
    files.filter(
      (f) => !f.startsWith('node_modules/') && (/^(test|src)\//.test(f) || /\.(test\.[jt]s|ts)$/.test(f)),
    ),
    [],
    'no tests and no TypeScript sources',
  );
  for (const dep of Object.keys(manifest.dependencies))
    t.true(files.includes(`node_modules/${dep}/package.json`), `${dep} is bundled`);
  // Dev-only packages are those the lockfile marks `dev` (a devDependency that a production package
  // also needs, as @types/node is for testcontainers' typings, is a production package too).
  const lock = JSON.parse(await fs.readFile(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const devOnly = Object.entries(lock.packages)
    .filter(([path, meta]) => meta.dev && path.startsWith('node_modules/'))
    .map(([path]) => `${path}/package.json`);
  t.true(devOnly.includes('node_modules/typescript/package.json'));
  t.deepEqual(
    devOnly.filter((f) => files.includes(f)),
    [],
    'no dev-only package is bundled',
  );
});

test('the installed package puts every bin on PATH, each a working program of the package', async (t) => {
  const i = ready();
  for (const [name, script] of Object.entries(manifest.bin)) {
    const bin = join(i.prefix, 'bin', name);
    await t.notThrowsAsync(fs.access(bin, constants.X_OK), `${name} is installed and executable`);
    t.is(await fs.realpath(bin), await fs.realpath(join(i.pkg, script)));
  }
  // Each answers: the classic version text (exit 1) or its usage (--help or a missing argument).
  for (const name of ['rsockd', 'sockd']) {
    const r = await run(name, ['-ver']);
    t.is(r.exitCode, 1, r.all);
    t.regex(r.stdout, /^\tCSTC single-homed SOCKS(ified SOCKS)? proxy server version 4\.3\.$/m);
  }
  const help = await run('sockslab', ['--help']);
  t.is(help.exitCode, 0, help.all);
  t.regex(help.stdout, /^Usage: sockslab/m);
  // The checkers and frozen-file tools do their job on the shipped examples (a route file of one line).
  const i2 = ready();
  const conf = (f: string) => join(i2.pkg, 'contrib/examples', f);
  await fs.writeFile(join(i2.elsewhere, 'sockd.route'), '10.1.0.1 10.1.0.0 255.255.0.0\n');
  const frozen: [string, string, string, RegExp][] = [
    [
      'make_sockdfc',
      conf('sockd.conf'),
      'sockd.fc',
      /^line 9: deny 0\.0\.0\.0 0\.0\.0\.0 0\.0\.0\.0 0\.0\.0\.0$/m,
    ],
    ['make_socksfc', conf('socks.conf'), 'socks.fc', /^line 4: direct 0\.0\.0\.0 0\.0\.0\.0$/m],
    ['make_sockdfr', 'sockd.route', 'sockd.fr', /^line 1: 10\.1\.0\.1 10\.1\.0\.0 255\.255\.0\.0$/m],
  ];
  for (const [make, input, output, line] of frozen) {
    const made = await run(make, [input, output]);
    t.is(made.exitCode, 0, `${make}: ${made.all}`);
    const dump = await run(make.replace('make_', 'dump_'), [output]);
    t.regex(dump.stdout, line, `${make.replace('make_', 'dump_')} reads back what ${make} froze`);
  }
  const route = await run('test_socks_conf', ['-C', conf('socks.conf'), 'alice', '192.0.2.10', '443']);
  t.is(route.exitCode, 1, route.all);
  t.regex(route.all ?? '', /^Decision: direct$/m);
});

test('test_sockd_conf judges requests against the shipped example sockd.conf', async (t) => {
  const conf = join(ready().pkg, 'contrib/examples/sockd.conf');
  const permitted = await run('test_sockd_conf', ['-C', conf, 'alice', '10.1.2.3', '192.0.2.10', '443']);
  t.is(permitted.exitCode, 1, permitted.all);
  t.regex(permitted.stderr, /^Line 6: permit \?=n 10\.0\.0\.0 255\.0\.0\.0 0\.0\.0\.0 0\.0\.0\.0 eq 443$/m);
  const denied = await run('test_sockd_conf', ['-C', conf, 'alice', '10.1.2.3', '192.0.2.10', '22']);
  t.is(denied.exitCode, 0, denied.all);
  t.regex(denied.stderr, /^Line 9: deny 0\.0\.0\.0 0\.0\.0\.0$/m);
});

test('sockslab run on a shipped topology, from a directory outside the repository, finds its scenarios and passes', async (t) => {
  t.timeout(5 * 60_000);
  const i = ready();
  const topology = join(i.pkg, 'topologies/seed-cascade.yaml');
  const r = await run('sockslab', ['run', topology, '--report-dir', 'reports'], 4 * 60_000);
  t.is(r.exitCode, 0, r.all);
  t.regex(r.stdout, /^\d+ passed, 0 failed/m);
  const report = JSON.parse(await fs.readFile(join(i.elsewhere, 'reports/latest/report.json'), 'utf8')) as {
    run: { scenarios: string[] };
  };
  // The scenario file beside the shipped topology, named relative to where the command ran.
  t.deepEqual(
    report.run.scenarios.map((s) => resolve(i.elsewhere, s)),
    [join(i.pkg, 'scenarios/seed-cascade.yaml')],
  );
});
