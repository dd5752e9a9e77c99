import { createHash } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { execa } from 'execa';
import { RuntimeUnavailableError } from '../../common/errors.ts';
import type { DockerEngine } from './engine.ts';
import { ImagePaths } from './host-spec.ts';

/**
 * The host image, built locally and never pulled: FROM scratch + this machine's node binary and
 * the libraries it links + the built dist/ + production node_modules. The tag carries a hash of
 * those inputs, so an unchanged tree reuses the image and a rebuilt dist/ gets a new one.
 */

export const ImageRepository = 'sockslab/host';
/** Label on the image (not `sockslab.lab`: the image is a cache that outlives labs). */
export const ImageLabel = 'sockslab.image';

export interface ImageInputs {
  readonly root: string;
  readonly node: string;
  /** /bin/sh for the configs' shell commands (c.10), resolved to the real binary. */
  readonly shell: string | null;
  readonly libraries: readonly string[];
  /** Package directories (relative to root) that production needs. */
  readonly packages: readonly string[];
}

/** The project root: src/runtime/docker and dist/runtime/docker sit at the same depth. */
export function projectRoot(): string {
  return resolve(import.meta.dirname, '../../..');
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** Shared libraries of the node binary, from ldd (the scratch image has none of its own). */
async function librariesOf(binary: string): Promise<string[]> {
  const { stdout } = await execa('ldd', [binary]);
  const libs = new Set<string>();
  for (const m of stdout.matchAll(/(\/[^\s)]+)/g)) if (m[1]) libs.add(m[1]);
  return [...libs].sort();
}

/** Production packages from package-lock.json (lockfile v2/v3 marks dev-only ones `dev: true`). */
async function productionPackages(root: string): Promise<string[]> {
  const lock = JSON.parse(await fs.readFile(join(root, 'package-lock.json'), 'utf8')) as {
    packages?: Record<string, { dev?: boolean; devOptional?: boolean }>;
  };
  const out: string[] = [];
  for (const [path, meta] of Object.entries(lock.packages ?? {})) {
    if (!path || meta.dev) continue;
    // Nested packages are copied with their parent directory.
    if (path.indexOf('/node_modules/') > 0) continue;
    if (await exists(join(root, path))) out.push(path);
  }
  return out.sort();
}

export async function imageInputs(root = projectRoot()): Promise<ImageInputs> {
  if (!(await exists(join(root, 'dist', 'cli', 'host-agent.js')))) {
    throw new RuntimeUnavailableError(
      'docker',
      `${join(root, 'dist')} has no cli/host-agent.js: run npm run build`,
    );
  }
  const node = await fs.realpath(process.execPath);
  const shell = (await exists('/bin/sh')) ? await fs.realpath('/bin/sh') : null;
  const libraries = new Set([...(await librariesOf(node)), ...(shell ? await librariesOf(shell) : [])]);
  return { root, node, shell, libraries: [...libraries].sort(), packages: await productionPackages(root) };
}

async function walk(dir: string, out: string[]): Promise<void> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) await walk(p, out);
    else out.push(p);
  }
}

/** Content hash of the inputs: dist/ by content, node_modules by lockfile, binaries by identity. */
export async function inputsHash(inputs: ImageInputs): Promise<string> {
  const h = createHash('sha256');
  h.update('sockslab-host-image v2\n');
  for (const bin of [inputs.node, ...(inputs.shell ? [inputs.shell] : []), ...inputs.libraries]) {
    const st = await fs.stat(bin);
    h.update(`${bin} ${st.size} ${st.mtimeMs}\n`);
  }
  h.update(process.version);
  h.update(await fs.readFile(join(inputs.root, 'package-lock.json')));
  h.update(await fs.readFile(join(inputs.root, 'package.json')));
  h.update(inputs.packages.join('\n'));
  const files: string[] = [];
  await walk(join(inputs.root, 'dist'), files);
  files.sort();
  for (const f of files) {
    h.update(`\n${relative(inputs.root, f)}\n`);
    h.update(await fs.readFile(f));
  }
  return h.digest('hex').slice(0, 16);
}

/** Hard-links a tree (same filesystem) or copies it; symlinks are recreated as they are. */
async function linkTree(src: string, dst: string): Promise<void> {
  const st = await fs.lstat(src);
  if (st.isDirectory()) {
    await fs.mkdir(dst, { recursive: true });
    for (const name of await fs.readdir(src)) {
      if (name === '.bin' || name === '.cache') continue;
      await linkTree(join(src, name), join(dst, name));
    }
  } else if (st.isSymbolicLink()) {
    await fs.mkdir(dirname(dst), { recursive: true });
    await fs.symlink(await fs.readlink(src), dst);
  } else {
    await fs.mkdir(dirname(dst), { recursive: true });
    try {
      await fs.link(src, dst);
    } catch {
      await fs.copyFile(src, dst);
    }
  }
}

const dockerfile = `FROM scratch
COPY rootfs/ /
LABEL ${ImageLabel}=true
WORKDIR ${ImagePaths.app}
ENTRYPOINT ["${ImagePaths.node}", "${ImagePaths.agent}"]
CMD ["serve", "--spec", "${ImagePaths.spec}"]
`;

async function stage(inputs: ImageInputs, dir: string): Promise<void> {
  const rootfs = join(dir, 'rootfs');
  // Binaries at the path the loader asks for, with the content of what that path points to.
  for (const bin of [inputs.node, ...inputs.libraries])
    await linkTree(await fs.realpath(bin), join(rootfs, bin));
  if (inputs.node !== ImagePaths.node) await linkTree(inputs.node, join(rootfs, ImagePaths.node));
  if (inputs.shell) await linkTree(inputs.shell, join(rootfs, 'bin/sh'));
  const app = join(rootfs, ImagePaths.app);
  await linkTree(join(inputs.root, 'dist'), join(app, 'dist'));
  await linkTree(join(inputs.root, 'package.json'), join(app, 'package.json'));
  for (const p of inputs.packages) await linkTree(join(inputs.root, p), join(app, p));
  for (const d of ['tmp', 'etc/sockslab/client', 'run']) await fs.mkdir(join(rootfs, d), { recursive: true });
  await fs.chmod(join(rootfs, 'tmp'), 0o1777);
  await fs.writeFile(join(dir, 'Dockerfile'), dockerfile);
}

async function imageExists(engine: DockerEngine, tag: string): Promise<boolean> {
  try {
    await engine.dockerode.getImage(tag).inspect();
    return true;
  } catch {
    return false;
  }
}

/** Builds the image unless the current inputs' tag already exists; returns the tag. */
export async function ensureImage(engine: DockerEngine, root = projectRoot()): Promise<string> {
  const inputs = await imageInputs(root);
  const tag = `${ImageRepository}:${await inputsHash(inputs)}`;
  if (await imageExists(engine, tag)) return tag;
  await fs.mkdir(join(root, '.docker-img'), { recursive: true });
  const dir = await fs.mkdtemp(join(root, '.docker-img', 'build-'));
  try {
    await stage(inputs, dir);
    // Uncompressed tar from the system tar: dockerode would gzip a context dir (seconds for 150 MB).
    const tar = execa('tar', ['-C', dir, '-c', '.'], { buffer: false, stdout: 'pipe' });
    const stream = await engine.dockerode.buildImage(tar.stdout as NodeJS.ReadableStream, {
      t: tag,
      rm: true,
    });
    const result = await new Promise<unknown[]>((done, fail) =>
      engine.dockerode.modem.followProgress(stream, (err: Error | null, out: unknown[]) =>
        err ? fail(err) : done(out),
      ),
    );
    await tar;
    const failure = result.find(
      (r): r is { error: string } => typeof r === 'object' && r !== null && 'error' in r,
    );
    if (failure) throw new Error(`docker build of ${tag} failed: ${failure.error}`);
    if (!(await imageExists(engine, tag))) throw new Error(`docker build of ${tag} produced no image`);
    return tag;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
