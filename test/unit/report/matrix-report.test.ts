import test from 'ava';
import { buildMatrix } from '../../../src/analysis/matrix.ts';
import { LabWorld } from '../../../src/analysis/world.ts';
import { renderHtml } from '../../../src/report/html.ts';
import { renderJson } from '../../../src/report/json.ts';
import { MaxReportRows, matrixReport, OtherService } from '../../../src/report/matrix-heat.ts';
import { buildRunReport, ReportVersion, type RunReport } from '../../../src/report/model.ts';
import { loadTopologyWithConfigs } from '../../../src/topology/load.ts';
import type { ResolvedTopology } from '../../../src/topology/model.ts';
import { generatedTopology } from '../../helpers/generated-topology.ts';
import { seedCascadeFile } from '../../helpers/seed-topology.ts';

async function seedMatrix() {
  const { topology, configs } = await loadTopologyWithConfigs(seedCascadeFile);
  return { topology, matrix: await buildMatrix(new LabWorld(topology, configs)) };
}

function runReportWith(topology: ResolvedTopology, m: RunReport['matrix']): RunReport {
  const base = buildRunReport(
    {
      id: 'run-1',
      runtime: 'local',
      startedAt: 0,
      finishedAt: 1,
      scenarios: [],
      tags: [],
      topologyFile: 'topologies/seed-cascade.yaml',
    },
    topology,
    [],
  );
  return { ...base, ...(m ? { matrix: m } : {}) };
}

test('the heat map of seed-cascade has one cell per origin and service, counting the verdicts of its classes', async (t) => {
  const { matrix } = await seedMatrix();
  const r = matrixReport(matrix);
  t.is(r.classes, 472);
  t.is(r.rows?.length, 472);
  t.is(
    Object.values(r.verdicts).reduce((a, b) => a + (b ?? 0), 0),
    472,
  );
  t.deepEqual(
    r.services.map((s) => s.id),
    ['A:1080', 'B:113', 'B:1080', 'C:113', 'z:7', 'z:80', OtherService],
  );
  // C → z:7 by hand: 7 SOCKS 4 users to z's address and 7 SOCKS 4A users to its name, 2 SOCKS 5.
  // x is granted (2), "any user claiming x" meets identd (2), root/nobody and the other claims
  // are refused by B's deny line (10), SOCKS 5 gets no reply from B (2).
  const z7 = r.cells.find((c) => c.origin === 'C' && c.service === 'z:7')!;
  t.deepEqual(z7.counts, { granted: 2, identd: 2, refused: 10, 'no-reply': 2 });
  t.deepEqual(
    z7.outcomes.find((o) => o.verdict === 'granted'),
    {
      verdict: 'granted',
      reply: 90,
      path: 'C > B > A > z',
      lines: 'B sockd.conf:2, A sockd.conf:2',
      identd: 'B asks C: confirmed',
      route: 'B socks.conf:3 sockd',
      failover: '',
      classes: 2,
      examples: ['socks4 x → z 198.51.100.10:7', 'socks4a x → name z:7'],
    },
  );
});

test('index.html gains a heat-map section whose cells show their outcomes on hover and link to their list', async (t) => {
  const { topology, matrix } = await seedMatrix();
  const html = renderHtml(runReportWith(topology, matrixReport(matrix)));
  t.regex(html, /<h2>Request classes<\/h2>/);
  t.regex(html, /472 exact request classes enumerated/);
  t.regex(html, /title="[^"]*granted ×2: C &gt; B &gt; A &gt; z · B sockd\.conf:2, A sockd\.conf:2/);
  const link = /<a href="#(m-C-z-7)"/.exec(html);
  t.truthy(link, 'the C × z:7 cell links to its details');
  t.regex(html, new RegExp(`<details id="${link![1]}">`));
  t.notRegex(html, /<script/i, 'still no scripts');
  const without = renderHtml(runReportWith(topology, undefined));
  t.notRegex(without, /Request classes/);
});

test('report.json carries the matrix under its own key and keeps its version', async (t) => {
  const { topology, matrix } = await seedMatrix();
  const json = JSON.parse(renderJson(runReportWith(topology, matrixReport(matrix)))) as Record<
    string,
    unknown
  >;
  t.is(json.version, ReportVersion);
  t.deepEqual(Object.keys(json).slice(-1), ['matrix']);
  const m = json.matrix as { classes: number; rows: unknown[] };
  t.is(m.classes, 472);
  t.is(m.rows.length, 472);
});

test('above the row limit report.json keeps cells and counts and says why the rows are left out', async (t) => {
  const { topology, configs } = await generatedTopology();
  const matrix = await buildMatrix(new LabWorld(topology, configs));
  t.true(matrix.rows.length > MaxReportRows);
  const r = matrixReport(matrix);
  t.is(r.rows, undefined);
  t.is(r.rowsOmitted?.count, matrix.rows.length);
  t.regex(r.rowsOmitted!.reason, /sockslab matrix --json/);
  t.is(
    r.cells.reduce((n, c) => n + Object.values(c.counts).reduce((a, b) => a + (b ?? 0), 0), 0),
    matrix.rows.length,
    'every class is counted in some cell',
  );
});
