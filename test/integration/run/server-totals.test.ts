import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { projectRoot } from '../../helpers/seed-topology.ts';

/**
 * `sockslab run` on the local runtime: every server's own counters (what `rsockd --metrics`
 * serves) end up in report.json and index.html as per-host totals, and agree with the cases.
 */

interface Totals {
  host: string;
  sessions: number;
  permitted: number;
  denied: number;
  replies: Record<string, number>;
  identd: Record<string, number>;
  bytesFromClient: number;
  bytesFromRemote: number;
}

test('a run reports each server host’s own counters, consistent with the cases that crossed it', async (t) => {
  t.timeout(120_000);
  const reports = await mkdtemp(join(tmpdir(), 'sockslab-totals-'));
  t.teardown(() => rm(reports, { recursive: true, force: true }));
  const r = await execa(
    'node',
    [
      '--import=tsx',
      join(projectRoot, 'src/cli/sockslab.ts'),
      'run',
      'topologies/seed-cascade.yaml',
      '--tags',
      'granted',
      '--report-dir',
      reports,
    ],
    { cwd: projectRoot, reject: false, env: { CI: '1' }, timeout: 110_000 },
  );
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  const report = JSON.parse(await readFile(join(reports, 'latest', 'report.json'), 'utf8')) as {
    cases: { observed: { path: string[]; reply: number | null } }[];
    servers: Totals[];
  };
  t.deepEqual(
    report.servers.map((s) => s.host),
    ['B', 'A'],
    'the hosts that run a server, in topology order',
  );
  const crossing = (host: string) => report.cases.filter((c) => c.observed.path.includes(host)).length;
  for (const host of ['B', 'A']) {
    const s = report.servers.find((x) => x.host === host);
    t.truthy(s, `${host} has totals`);
    if (!s) continue;
    t.true(crossing(host) > 0);
    t.true(
      s.sessions >= crossing(host),
      `${host}: ${s.sessions} sessions, ${crossing(host)} cases crossed it`,
    );
    t.is(s.permitted + s.denied, s.sessions, `${host}: every request decided`);
    t.is(
      Object.values(s.replies).reduce((a, b) => a + b, 0),
      s.sessions,
      `${host}: one reply per CONNECT`,
    );
    t.true(s.bytesFromClient > 0 && s.bytesFromRemote > 0, `${host}: bytes relayed`);
  }
  const b = report.servers.find((x) => x.host === 'B')!;
  t.true((b.identd.confirmed ?? 0) >= 1, 'B confirmed users with identd on C');
  const html = await readFile(join(reports, 'latest', 'index.html'), 'utf8');
  t.regex(html, /<h2>Server counters<\/h2>/);
  t.regex(
    html,
    new RegExp(`<tr><td>B</td><td>${b.sessions}</td><td>${b.permitted}</td><td>${b.denied}</td>`),
  );
});
