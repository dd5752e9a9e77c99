import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { productionPackages } from '../../../../src/runtime/docker/image.ts';

function pkg(dir: string, name: string, deps: Record<string, string> = {}, extra: object = {}) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name, version: '1.0.0', dependencies: deps, ...extra }),
  );
}

test('with a lockfile the image gets exactly its production packages', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sockslab-img-'));
  try {
    pkg(root, 'app', { a: '1' });
    pkg(join(root, 'node_modules/a'), 'a');
    pkg(join(root, 'node_modules/a/node_modules/b'), 'b');
    pkg(join(root, 'node_modules/devtool'), 'devtool');
    writeFileSync(
      join(root, 'package-lock.json'),
      JSON.stringify({
        lockfileVersion: 3,
        packages: {
          '': {},
          'node_modules/a': {},
          'node_modules/a/node_modules/b': {},
          'node_modules/devtool': { dev: true },
          'node_modules/not-installed': { optional: true },
        },
      }),
    );
    t.deepEqual(await productionPackages(root), [
      { source: join(root, 'node_modules/a'), target: 'node_modules/a' },
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('without a lockfile the dependencies are found as Node resolves them, hoisted or nested', async (t) => {
  const top = mkdtempSync(join(tmpdir(), 'sockslab-img-'));
  try {
    const root = join(top, 'node_modules/sockslab');
    pkg(root, 'sockslab', { a: '1', c: '1' });
    pkg(join(top, 'node_modules/a'), 'a', { b: '1' });
    pkg(join(top, 'node_modules/a/node_modules/b'), 'b');
    pkg(join(root, 'node_modules/c'), 'c', { a: '1' });
    pkg(join(top, 'node_modules/unrelated'), 'unrelated');
    t.deepEqual(await productionPackages(root), [
      { source: join(top, 'node_modules/a'), target: 'node_modules/a' },
      { source: join(root, 'node_modules/c'), target: 'node_modules/c' },
    ]);
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
});
