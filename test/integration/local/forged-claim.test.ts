import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { renderHtml } from '../../../src/report/html.ts';
import { renderMarkdown } from '../../../src/report/markdown.ts';
import { buildRunReport } from '../../../src/report/model.ts';
import { localRuntime } from '../../../src/runtime/local/local-runtime.ts';
import { traceLines } from '../../../src/scenario/trace-text.ts';
import { explain, runForgedClaim, seedWithY } from '../../helpers/forged-claim.ts';
import { projectRoot, seedCascadeFile } from '../../helpers/seed-topology.ts';

test('on the local runtime a forged claim sends the claimed USERID from a socket identd attributes to its owner', async (t) => {
  const topology = await seedWithY();
  const lab = await localRuntime.up(topology, {
    timeouts: { identd: 2000, upstreamConnect: 2000, establish: 4000, requestRead: 4000, identdRead: 1000 },
  });
  try {
    const results = await runForgedClaim(lab, topology);
    const [forged, honest] = results;
    t.is(forged!.verdict, 'pass', explain(forged!));
    t.is(honest!.verdict, 'pass', explain(honest!));
    // The wire carried x, the owner registry said y: B's request event and its identd event.
    const b = forged!.trace.hops[0]!;
    t.is(b.user, 'x');
    t.is(b.identd?.user, 'y');
    t.deepEqual(forged!.trace.origin, { host: 'C', user: 'y', claim: 'x' });
    t.is(forged!.outcome.reply, 93);
    // Traces and reports say who sent what: the owner and the claim.
    t.regex(traceLines(forged!.trace)[0]!, /^y \(claims x\)@C → connect z:7/);
    const report = buildRunReport(
      {
        id: 'r',
        runtime: 'local',
        startedAt: 0,
        finishedAt: 1,
        scenarios: [],
        tags: [],
        topologyFile: 'seed-cascade.yaml',
      },
      topology,
      results,
    );
    t.is(report.cases[0]!.request.claim, 'x');
    t.is(report.cases[1]!.request.claim, null);
    t.regex(renderMarkdown(report), /\| y \(claims x\)@C connect z:7 \(socks4\) \|/);
    t.regex(renderHtml(report), /y \(claims x\)@C connect z:7/);
  } finally {
    await lab.down();
  }
});

test('sockslab probe --claim sends the claim and the trace shows the owner and the claim', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sockslab-claim-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const topologyFile = join(dir, 'seed-cascade.yaml');
  await writeFile(
    topologyFile,
    (await readFile(seedCascadeFile, 'utf8')).replace('users: { x: 1001 }', 'users: { x: 1001, y: 1002 }'),
  );
  const cli = join(projectRoot, 'src/cli/sockslab.ts');
  const r = await execa(
    'node',
    [
      '--import=tsx',
      cli,
      'probe',
      topologyFile,
      '--from',
      'C',
      '--user',
      'y',
      '--claim',
      'x',
      '--connect',
      'z:7',
      '--one-shot',
      '--json',
    ],
    { cwd: projectRoot, reject: false, env: { CI: '1' }, timeout: 60_000 },
  );
  const out = JSON.parse(r.stdout);
  t.is(out.request.claim, 'x');
  t.is(out.outcome.reply, 93);
  t.deepEqual(out.trace.origin, { host: 'C', user: 'y', claim: 'x' });
  t.true(
    out.trace.hops[0].logs.includes('*Alert*: real user is y, not x'),
    out.trace.hops[0].logs.join('\n'),
  );
});
