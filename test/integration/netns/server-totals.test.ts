import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestFn } from 'ava';
import { execa } from 'execa';
import { netnsTest, root } from './support.ts';

/**
 * The per-host server counters in a run's report (what each server's `--metrics` counts) on the
 * netns runtime, where the servers are separate processes in their namespaces: the same numbers,
 * host by host, as the local runtime gives for the same cases.
 */
const test = (await netnsTest()) as TestFn;

async function servers(runtime: string, reports: string): Promise<unknown> {
  const r = await execa(
    'node',
    [
      '--import=tsx',
      join(root, 'src/cli/sockslab.ts'),
      'run',
      'topologies/seed-cascade.yaml',
      '--tags',
      'granted',
      '--runtime',
      runtime,
      '--jobs',
      '1',
      '--report-dir',
      join(reports, runtime),
    ],
    { cwd: root, reject: false, env: { CI: '1' }, timeout: 170_000 },
  );
  if (r.exitCode !== 0) throw new Error(`run on ${runtime} exited ${r.exitCode}: ${r.stdout}${r.stderr}`);
  const report = JSON.parse(await readFile(join(reports, runtime, 'latest', 'report.json'), 'utf8')) as {
    servers?: unknown;
  };
  return report.servers;
}

test('on netns each server host reports the same counters as on the local runtime', async (t) => {
  t.timeout(360_000);
  const reports = await mkdtemp(join(tmpdir(), 'sockslab-totals-netns-'));
  t.teardown(() => rm(reports, { recursive: true, force: true }));
  const local = await servers('local', reports);
  const netns = await servers('netns', reports);
  t.truthy(netns, 'report.json has server counters on netns');
  t.deepEqual(netns, local);
  const b = (netns as { host: string; sessions: number }[]).find((s) => s.host === 'B');
  t.true((b?.sessions ?? 0) > 0, 'B counted the requests that crossed it');
});
