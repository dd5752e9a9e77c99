import { createHash } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { execa } from 'execa';
import { RuntimeUnavailableError } from '../../common/errors.ts';
import { withPidLock } from '../../common/pid-lock.ts';
import { ImagePaths } from '../host-spec.ts';
import type { DockerEngine } from './engine.ts';

/**
 * The host image, built locally and never pulled: FROM scratch + this machine's node binary and
 * the libraries it links + the built dist/ + production node_modules. The tag carries a hash of
 * those inputs, so an unchanged tree reuses the image and a rebuilt dist/ gets a new one.
 */

export const ImageRepository = 'sockslab/host';
export const BaseRepository = 'sockslab/base';
/** Label on the image (not `sockslab.lab`: the image is a cache that outlives labs). */
export const ImageLabel = 'sockslab.image';

export interface ImageInputs {
  readonly root: string;
  readonly node: string;
  /** /bin/sh for the configs' shell commands (c.10), resolved to the real binary. */
  readonly shell: string | null;
  readonly libraries: readonly string[];
  /** Package directories (relative to root) that production needs. */
  readonly packages: readonly PackageDir[];
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

/**
 * Shared libraries of the node binary, from ldd (the scratch image has none of its own); asked
 * once per binary, size and time per process (every `up` checks the image).
 */
const lddCache = new Map<string, Promise<string[]>>();
async function librariesOf(binary: string): Promise<string[]> {
  const st = await fs.stat(binary);
  const key = `${binary} ${st.size} ${st.mtimeMs}`;
  let p = lddCache.get(key);
  if (!p) {
    p = lddOf(binary);
    lddCache.set(key, p);
    p.catch(() => lddCache.delete(key));
  }
  return p;
}

async function lddOf(binary: string): Promise<string[]> {
  const { stdout } = await execa('ldd', [binary]);
  const libs = new Set<string>();
  for (const m of stdout.matchAll(/(\/[^\s)]+)/g)) if (m[1]) libs.add(m[1]);
  return [...libs].sort();
}

/** A package directory to copy: from where on this machine, to where under /app. */
export interface PackageDir {
  readonly source: string;
  /** `node_modules/<name>` */
  readonly target: string;
}

/** Production packages from package-lock.json (lockfile v2/v3 marks dev-only ones `dev: true`). */
async function lockedPackages(root: string): Promise<PackageDir[]> {
  const lock = JSON.parse(await fs.readFile(join(root, 'package-lock.json'), 'utf8')) as {
    packages?: Record<string, { dev?: boolean; devOptional?: boolean }>;
  };
  const out: PackageDir[] = [];
  for (const [path, meta] of Object.entries(lock.packages ?? {})) {
    if (!path || meta.dev) continue;
    // Nested packages are copied with their parent directory.
    if (path.indexOf('/node_modules/') > 0) continue;
    if (await exists(join(root, path))) out.push({ source: join(root, path), target: path });
  }
  return out.sort((x, y) => x.target.localeCompare(y.target));
}

async function readManifest(dir: string): Promise<{
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
} | null> {
  try {
    return JSON.parse(await fs.readFile(join(dir, 'package.json'), 'utf8'));
  } catch {
    return null;
  }
}

/** Node's lookup: `<dir>/node_modules/<name>`, then each parent directory's. */
async function resolvePackage(from: string, name: string): Promise<string | null> {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (await exists(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/**
 * Without a lockfile (sockslab installed from the registry, its dependencies hoisted into a parent
 * node_modules): walk `dependencies` from package.json as Node would resolve them. A package found
 * inside another one's directory comes along with it.
 */
async function resolvedPackages(root: string): Promise<PackageDir[]> {
  const found = new Map<string, string>();
  const queue: string[] = [root];
  while (queue.length > 0) {
    const dir = queue.shift() ?? root;
    const manifest = await readManifest(dir);
    const names = [
      ...Object.keys(manifest?.dependencies ?? {}),
      ...Object.keys(manifest?.optionalDependencies ?? {}),
    ];
    for (const name of names) {
      const at = await resolvePackage(dir, name);
      if (!at || [...found.values()].includes(at)) continue;
      if (!found.has(name)) found.set(name, at);
      queue.push(at);
    }
  }
  const dirs = [...found].map(([name, source]) => ({ name, source }));
  return dirs
    .filter((d) => !dirs.some((o) => o !== d && d.source.startsWith(`${o.source}/`)))
    .map((d) => ({ source: d.source, target: `node_modules/${d.name}` }))
    .sort((x, y) => x.target.localeCompare(y.target));
}

export async function productionPackages(root: string): Promise<PackageDir[]> {
  return (await exists(join(root, 'package-lock.json'))) ? lockedPackages(root) : resolvedPackages(root);
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

/** Hash of what rarely changes: node, the shell, their libraries, production node_modules. */
export async function baseHash(inputs: ImageInputs): Promise<string> {
  const h = createHash('sha256');
  h.update('sockslab-base-image v1\n');
  for (const bin of [inputs.node, ...(inputs.shell ? [inputs.shell] : []), ...inputs.libraries]) {
    const st = await fs.stat(bin);
    h.update(`${bin} ${st.size} ${st.mtimeMs}\n`);
  }
  h.update(process.version);
  // By lockfile when there is one; otherwise by each package's name, place and version.
  const lock = join(inputs.root, 'package-lock.json');
  if (await exists(lock)) h.update(await fs.readFile(lock));
  for (const p of inputs.packages) {
    const version = (
      JSON.parse(await fs.readFile(join(p.source, 'package.json'), 'utf8')) as { version?: string }
    ).version;
    h.update(`${p.target} ${p.source} ${version}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * The last content hash of dist/, with what every file's stat said then: an `up` in a process
 * that already hashed an unchanged tree (a bench, diff --confirm, a test file) reads no file.
 */
let lastDist: { readonly key: string; readonly hash: string } | undefined;

/** Hash of the host image: its base plus dist/ and package.json by content. */
export async function inputsHash(inputs: ImageInputs, base?: string): Promise<string> {
  const baseText = base ?? (await baseHash(inputs));
  const files: string[] = [];
  await walk(join(inputs.root, 'dist'), files);
  files.sort();
  const stats = await Promise.all(
    [join(inputs.root, 'package.json'), ...files].map(async (f) => {
      const st = await fs.stat(f);
      return `${f} ${st.size} ${st.mtimeMs} ${st.ino}`;
    }),
  );
  const key = `${baseText}\n${stats.join('\n')}`;
  if (lastDist?.key === key) return lastDist.hash;
  const h = createHash('sha256');
  h.update(`sockslab-host-image v3 ${baseText}\n`);
  h.update(await fs.readFile(join(inputs.root, 'package.json')));
  for (const f of files) {
    h.update(`\n${relative(inputs.root, f)}\n`);
    h.update(await fs.readFile(f));
  }
  const hash = h.digest('hex').slice(0, 16);
  lastDist = { key, hash };
  return hash;
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

/** The base layer: FROM scratch, binaries at the paths the loader asks for, node_modules under /app. */
async function stageBase(inputs: ImageInputs, dir: string): Promise<void> {
  const rootfs = join(dir, 'rootfs');
  for (const bin of [inputs.node, ...inputs.libraries])
    await linkTree(await fs.realpath(bin), join(rootfs, bin));
  if (inputs.node !== ImagePaths.node) await linkTree(inputs.node, join(rootfs, ImagePaths.node));
  if (inputs.shell) await linkTree(inputs.shell, join(rootfs, 'bin/sh'));
  const app = join(rootfs, ImagePaths.app);
  for (const p of inputs.packages) await linkTree(p.source, join(app, p.target));
  for (const d of ['tmp', 'etc/sockslab/client', 'run']) await fs.mkdir(join(rootfs, d), { recursive: true });
  await fs.chmod(join(rootfs, 'tmp'), 0o1777);
  await fs.writeFile(join(dir, 'Dockerfile'), `FROM scratch\nCOPY rootfs/ /\nLABEL ${ImageLabel}=base\n`);
}

/** The host layer: the built dist/ on top of the base (a few MB, rebuilt whenever dist/ changes). */
async function stageHost(inputs: ImageInputs, base: string, dir: string): Promise<void> {
  const app = join(dir, 'app');
  await linkTree(join(inputs.root, 'dist'), join(app, 'dist'));
  await linkTree(join(inputs.root, 'package.json'), join(app, 'package.json'));
  await fs.writeFile(
    join(dir, 'Dockerfile'),
    `FROM ${base}
COPY app/ ${ImagePaths.app}/
LABEL ${ImageLabel}=host
WORKDIR ${ImagePaths.app}
ENTRYPOINT ["${ImagePaths.node}", "${ImagePaths.agent}"]
CMD ["serve", "--spec", "${ImagePaths.spec}"]
`,
  );
}

async function imageExists(engine: DockerEngine, tag: string): Promise<boolean> {
  try {
    await engine.dockerode.getImage(tag).inspect();
    return true;
  } catch {
    return false;
  }
}

/** Stages a context with `stage` and builds it as `tag` (uncompressed tar: gzip would cost seconds). */
async function build(engine: DockerEngine, root: string, tag: string, stage: (dir: string) => Promise<void>) {
  await fs.mkdir(join(root, '.docker-img'), { recursive: true });
  const dir = await fs.mkdtemp(join(root, '.docker-img', 'build-'));
  try {
    await stage(dir);
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
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Removes the other tags of `repository` (older builds); an image still in use stays. */
/** Tags younger than this are kept: another process may be about to start containers from them. */
const pruneAfterMs = 15 * 60_000;

/** Removes older tags of `repository`; an image in use, or built in the last minutes, stays. */
async function pruneOthers(engine: DockerEngine, repository: string, keep: string): Promise<void> {
  const images = await engine.dockerode.listImages({ filters: { reference: [repository] } });
  for (const img of images) {
    if (Date.now() - img.Created * 1000 < pruneAfterMs) continue;
    for (const tag of img.RepoTags ?? []) {
      if (tag === keep) continue;
      await engine.dockerode
        .getImage(tag)
        .remove()
        .catch(() => {});
    }
  }
}

/**
 * One build at a time per tag on this machine: test files run in parallel processes and would all
 * stage and send the same 150 MB context. The lock file holds the builder's pid; a lock whose
 * process is gone is taken over.
 */
async function withBuildLock<T>(root: string, tag: string, fn: () => Promise<T>): Promise<T> {
  await fs.mkdir(join(root, '.docker-img'), { recursive: true });
  const lock = join(root, '.docker-img', `${tag.replace(/[/:]/g, '_')}.lock`);
  return withPidLock(lock, fn);
}

async function buildBase(
  engine: DockerEngine,
  root: string,
  inputs: ImageInputs,
  base: string,
): Promise<void> {
  await withBuildLock(root, base, async () => {
    if (!(await imageExists(engine, base))) await build(engine, root, base, (dir) => stageBase(inputs, dir));
  });
}

/**
 * The base image alone (node, /bin/sh, their libraries, production node_modules; FROM scratch,
 * nothing pulled), built if missing: a local stand-in for an official Node image where no registry
 * is reachable, e.g. for `docker build --build-arg BASE=<tag>` of the project's Dockerfile in CI.
 * Its node is at /usr/bin/node and on the default PATH.
 */
export async function ensureBaseImage(engine: DockerEngine, root = projectRoot()): Promise<string> {
  const inputs = await imageInputs(root);
  const base = `${BaseRepository}:${await baseHash(inputs)}`;
  await buildBase(engine, root, inputs, base);
  return base;
}

/**
 * The host image for the current tree, built only when its inputs changed: the base when node or
 * node_modules changed, the thin host layer when dist/ changed. Older tags are removed so builds
 * do not pile up; the current ones stay as the cache.
 */
export async function ensureImage(engine: DockerEngine, root = projectRoot()): Promise<string> {
  const inputs = await imageInputs(root);
  const bHash = await baseHash(inputs);
  const base = `${BaseRepository}:${bHash}`;
  const tag = `${ImageRepository}:${await inputsHash(inputs, bHash)}`;
  if (await imageExists(engine, tag)) return tag;
  await buildBase(engine, root, inputs, base);
  await withBuildLock(root, tag, async () => {
    if (!(await imageExists(engine, tag)))
      await build(engine, root, tag, (dir) => stageHost(inputs, base, dir));
  });
  await pruneOthers(engine, ImageRepository, tag);
  await pruneOthers(engine, BaseRepository, base);
  return tag;
}
