import { createHash } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { withPidLock } from '../../../src/common/pid-lock.ts';
import { root } from '../docker/support.ts';

/**
 * The npm package of this tree, made the way a release is: `npm pack` in a clean copy of the
 * sources with no dist/, so the tarball's dist/ comes from the `prepack` build. The copy gets a
 * real node_modules (hard links of the shared install): npm bundles the production dependencies
 * from it (`bundleDependencies`), which is what lets the tarball install with no registry.
 * Packing costs a TypeScript build, so the tarball is cached under .docker-img/ship/ by the hash
 * of everything that goes into it, and made once at a time across test processes.
 */

/** What `npm pack` reads (package.json `files`, plus what the build needs). */
const inputs = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'README.md',
  'src',
  'topologies',
  'scenarios',
  'contrib',
];

async function walk(path: string, out: string[]): Promise<void> {
  const st = await fs.stat(path);
  if (!st.isDirectory()) {
    out.push(path);
    return;
  }
  for (const name of (await fs.readdir(path)).sort()) await walk(join(path, name), out);
}

async function inputsHash(): Promise<string> {
  const h = createHash('sha256');
  h.update('sockslab-pack v1\n');
  for (const item of inputs) {
    const files: string[] = [];
    await walk(join(root, item), files);
    for (const f of files) {
      h.update(`\n${relative(root, f)}\n`);
      h.update(await fs.readFile(f));
    }
  }
  return h.digest('hex').slice(0, 16);
}

/** The environment for a child npm: ours without the npm_* variables of an enclosing `npm test`. */
export function npmEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^npm_/i.test(k)) env[k] = v;
  }
  return {
    ...env,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    ...extra,
  };
}

async function exists(path: string): Promise<boolean> {
  return fs.access(path, constants.F_OK).then(
    () => true,
    () => false,
  );
}

async function packInto(target: string): Promise<void> {
  const stage = await fs.mkdtemp(join(tmpdir(), 'sockslab-pack-'));
  try {
    const src = join(stage, 'sockslab');
    await fs.mkdir(src);
    for (const item of inputs) await fs.cp(join(root, item), join(src, item), { recursive: true });
    // Hard links (same file system) or a copy: real directories either way, which bundling needs.
    const modules = await fs.realpath(join(root, 'node_modules'));
    const linked = await execa('cp', ['-al', modules, join(src, 'node_modules')], { reject: false });
    if (linked.exitCode !== 0) await execa('cp', ['-a', modules, join(src, 'node_modules')]);
    const out = join(stage, 'out');
    await fs.mkdir(out);
    const packed = await execa('npm', ['pack', '--json', '--pack-destination', out], {
      cwd: src,
      env: npmEnv(),
      extendEnv: false,
      reject: false,
      all: true,
    });
    if (packed.exitCode !== 0) throw new Error(`npm pack failed (${packed.exitCode}):\n${packed.all}`);
    const [made] = await fs.readdir(out);
    if (!made) throw new Error(`npm pack wrote no tarball:\n${packed.all}`);
    await fs.rename(join(out, made), `${target}.part`);
    await fs.rename(`${target}.part`, target);
  } finally {
    await fs.rm(stage, { recursive: true, force: true });
  }
}

/** Path of the packed tarball for the current sources (made, or taken from the cache). */
export async function packedTarball(): Promise<string> {
  const dir = join(root, '.docker-img', 'ship');
  await fs.mkdir(dir, { recursive: true });
  const hash = await inputsHash();
  const target = join(dir, `sockslab-${hash}.tgz`);
  return withPidLock(
    join(dir, `${hash}.lock`),
    async () => {
      if (!(await exists(target))) {
        // Older tarballs are of older sources; one of the last half hour may still be in use.
        for (const old of await fs.readdir(dir)) {
          const st = await fs.stat(join(dir, old)).catch(() => null);
          if (old.endsWith('.tgz') && st && Date.now() - st.mtimeMs > 30 * 60_000)
            await fs.rm(join(dir, old), { force: true });
        }
        await packInto(target);
      }
      return target;
    },
    500,
  );
}
