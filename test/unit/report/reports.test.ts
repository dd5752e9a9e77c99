import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ruleCoverage } from '../../../src/analysis/rule-coverage.ts';
import type { LabEvent } from '../../../src/common/events.ts';
import { renderHtml } from '../../../src/report/html.ts';
import { renderJson } from '../../../src/report/json.ts';
import { renderJunit } from '../../../src/report/junit.ts';
import { renderMarkdown } from '../../../src/report/markdown.ts';
import { buildRunReport, type RunReport } from '../../../src/report/model.ts';
import { normaliseReport, normaliseReportText } from '../../../src/report/normalise.ts';
import { renderCoverage, renderResultTable } from '../../../src/report/terminal.ts';
import { loadTopologyWithConfigs } from '../../../src/topology/load.ts';
import { validateJunit } from '../../helpers/junit-validator.ts';
import { outcomeOf, resultOf, seedCases } from '../../helpers/results.ts';
import { projectRoot, seedCascade, seedCascadeFile } from '../../helpers/seed-topology.ts';
import { badIdAtA, ep, grantedCascade } from '../../helpers/synthetic-events.ts';

const cases = `  - name: granted <echo> & "quoted"
    from: C
    user: x
    connect: z:7
    send: hello
    expect: { reply: granted, path: [C, B, A, z], identd: { B: x, A: none }, echo: true }
  - name: http expected granted but A says 93
    from: C
    user: x
    connect: z:80
    expect: { reply: granted, identd: { A: x } }
`;

/** Shifts every port ≥ 40000 and every time, as a second run of the same input would. */
function rerun(events: readonly LabEvent[], dPort: number, dT: number): LabEvent[] {
  return JSON.parse(
    JSON.stringify(events, (k, v) => {
      if (k === 'port' && typeof v === 'number' && v >= 40000) return v + dPort;
      if (k === 't') return v + dT;
      if ((k === 'answer' || k === 'query') && typeof v === 'string')
        return v.replace(/4000\d/, (p) => String(Number(p) + dPort));
      return v;
    }),
  ) as LabEvent[];
}

async function report(dPort = 0, dT = 0, started = 1_700_000_000_000): Promise<RunReport> {
  const [granted, http] = await seedCases(cases);
  const r1 = await resultOf(
    granted!,
    rerun(grantedCascade(), dPort, dT),
    outcomeOf(90, 'hello', { local: ep('10.1.0.10', 40001 + dPort) }),
  );
  const r2 = await resultOf(
    http!,
    rerun(badIdAtA(), dPort, dT),
    outcomeOf(91, '', { local: ep('10.1.0.10', 40001 + dPort) }),
  );
  return buildRunReport(
    {
      id: `run-${dT}`,
      runtime: 'local',
      startedAt: started,
      finishedAt: started + 1234 + dT,
      scenarios: ['scenarios/synthetic.yaml'],
      tags: [],
      topologyFile: 'topologies/seed-cascade.yaml',
    },
    await seedCascade(),
    [
      { ...r1, durationMs: 10 + dT },
      { ...r2, durationMs: 20 + dT },
    ],
  );
}

test('report.json has the versioned shape with per-hop decision, identd and route', async (t) => {
  const r = await report();
  t.is(r.version, 1);
  t.deepEqual(r.run.totals, { cases: 2, passed: 1, failed: 1 });
  const [granted, http] = r.cases;
  t.is(granted!.verdict, 'pass');
  t.deepEqual(granted!.observed.path, ['C', 'B', 'A', 'z']);
  t.deepEqual(granted!.observed.hops[0], {
    host: 'B',
    from: 'C',
    user: 'x',
    decision: { action: 'permit', file: 'sockd.conf', line: 2, reason: 'rule' },
    identd: {
      queried: 'C',
      answer: '40001 , 1080 : USERID : UNIX : x',
      user: 'x',
      verdict: 'confirmed',
      userSeen: 'x',
    },
    route: {
      action: 'sockd',
      file: 'socks.conf',
      line: 3,
      server: 'A',
      attempts: [{ server: '10.2.0.1', host: 'A', address: '10.2.0.1', port: 1080, ok: true, error: null }],
    },
    reply: 90,
    replyName: '90 (granted)',
    // Split DNS: C's SOCKS 4 client resolved z itself, so B received an address.
    realUser: 'x',
    destination: { received: 'address', name: 'z', address: '198.51.100.10', resolvedBy: 'C' },
    sockdRoute: null,
    bound: null,
    details: [],
  });
  t.is(http!.verdict, 'fail');
  t.deepEqual(
    http!.failures.map((f) => f.what),
    ['reply', 'identd user at A'],
  );
  const json = JSON.parse(renderJson(r));
  t.deepEqual(Object.keys(json), [
    'version',
    'run',
    'topology',
    'cases',
    'attribution',
    'coverage',
    'diagramFailures',
  ]);
});

test('report.json is identical across two runs of the same input after normalising times, ports and ids', async (t) => {
  const a = renderJson(normaliseReport(await report(0, 0)));
  const b = renderJson(normaliseReport(await report(517, 90_000, 1_800_000_000_000)));
  t.is(a, b);
  t.notRegex(a, /4000\d/, 'ephemeral ports are normalised');
});

test('the attribution matrix has one row per request and hop: who asked whom, the answer, the user the rule saw', async (t) => {
  const r = await report();
  t.deepEqual(
    r.attribution.map((a) => [a.hop, a.from, a.queried, a.identdUser, a.ruleUser, a.verdict]),
    [
      ['B', 'C', 'C', 'x', 'x', 'confirmed'],
      ['A', 'B', null, null, 'x', 'not asked'],
      ['B', 'C', 'C', 'x', 'x', 'confirmed'],
      ['A', 'B', 'B', 'nobody', 'x', 'mismatch'],
    ],
  );
});

test('junit.xml validates against the common JUnit schema, with expected vs actual in the failure', async (t) => {
  const xml = renderJunit(await report());
  t.deepEqual(validateJunit(xml), []);
  t.regex(
    xml,
    /<testcase name="granted &lt;echo&gt; &amp; &quot;quoted&quot;" classname="synthetic" time="0\.010"\/>/,
  );
  t.regex(
    xml,
    /<failure message="reply: expected 90 \(granted\), got 91 \(rejected\) \(\+1 more\)" type="reply">/,
  );
  t.regex(xml, /expected: 90 \(granted\)\n {2}actual: {3}91 \(rejected\)/);
  t.regex(
    xml,
    /A \(sockd\) from B as x; deny by sockd\.conf:4 \[identd-mismatch\]/,
    'the trace is in the failure',
  );
});

test('xmllint accepts junit.xml against the fixture XSD when libxml2 is installed', async (t) => {
  let xmllint = true;
  try {
    execFileSync('xmllint', ['--version'], { stdio: 'ignore' });
  } catch {
    xmllint = false;
  }
  // The structural validator above covers the same rules; this confirms the XSD agrees with it.
  if (!xmllint) {
    t.log('xmllint not installed (libxml2-utils); structural validation only');
    t.deepEqual(validateJunit(renderJunit(await report())), []);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'sockslab-junit-'));
  try {
    await writeFile(join(dir, 'junit.xml'), renderJunit(await report()));
    const out = execFileSync(
      'xmllint',
      ['--noout', '--schema', `${projectRoot}test/fixtures/junit/junit.xsd`, join(dir, 'junit.xml')],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    t.is(out, '');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a disagreement with the prediction is written to the test case system-out, not as a failure', async (t) => {
  const r = await report();
  const disagreeing = {
    ...r,
    cases: r.cases.map((c, i) =>
      i === 0
        ? {
            ...c,
            prediction: {
              reply: 91,
              path: ['C', 'B'],
              agreed: false,
              differences: ['reply: predicted 91'],
              reasoning: [],
            },
          }
        : c,
    ),
  };
  const xml = renderJunit(disagreeing);
  t.deepEqual(validateJunit(xml), []);
  t.regex(
    xml,
    /time="0\.010">\n {6}<system-out>observation differs from the prediction: reply: predicted 91<\/system-out>\n {4}<\/testcase>/,
  );
});

test('the structural JUnit validator rejects what the schema rejects', (t) => {
  t.deepEqual(
    validateJunit(
      '<testsuites><testsuite name="s" tests="1" failures="0" errors="0" time="0"/></testsuites>',
    ),
    ['testsuite s: tests=1 but 0 testcases'],
  );
  t.regex(
    validateJunit('<testsuites><testsuite name="s" tests="0" failures="0" time="x"/></testsuites>').join(
      '\n',
    ),
    /missing attribute errors[\s\S]*time="x"/,
  );
  t.regex(validateJunit('<testsuites><testcase/></testsuites>').join('\n'), /children "testcase" do not fit/);
  t.regex(validateJunit('<testsuites>').join('\n'), /not well-formed/);
});

test('summary.md has the results table, the failures with expected vs actual, and the attribution matrix', async (t) => {
  const md = renderMarkdown(await report(), { caseMermaid: (c) => `flowchart LR\n  %% ${c.name}` });
  t.regex(md, /\*\*1 passed, 1 failed\*\* of 2 cases/);
  t.regex(md, /\| \*\*FAIL\*\* \| http expected granted but A says 93 \| scenarios\/synthetic\.yaml \|/);
  t.regex(md, /\| reply \| 90 \(granted\) \| 91 \(rejected\) \|/);
  t.regex(
    md,
    /\| http expected granted but A says 93 \| A \| B \| B \| 40002 , 1080 : USERID : UNIX : nobody \| nobody \| x \| mismatch \|/,
  );
  t.regex(md, /```mermaid\nflowchart LR\n {2}%% granted <echo>/);
});

test('index.html is self-contained, escapes names and embeds the diagrams inline', async (t) => {
  const html = renderHtml(await report(), {
    topologySvg: '<?xml version="1.0"?>\n<svg id="topo"></svg>',
    caseSvg: (c) => `<svg class="trace">${c.verdict}</svg>`,
    caseSequenceSvg: (c) => (c.verdict === 'fail' ? undefined : `<svg class="sequence">${c.verdict}</svg>`),
  });
  t.notRegex(html, /<script|<link|src="http|href="http/);
  t.regex(
    html,
    /<figure class="diagram topology"><figcaption>[^<]*<\/figcaption><svg id="topo"><\/svg><\/figure>/,
  );
  t.is(
    html.match(/<figure class="diagram map"><figcaption>[^<]*<\/figcaption><svg class="trace">/g)?.length,
    2,
  );
  // Each case shows its sequence view too; one that could not be drawn says so in its place.
  t.is(
    html.match(/<figure class="diagram sequence"><figcaption>[^<]*<\/figcaption><svg class="sequence">pass/g)
      ?.length,
    1,
  );
  t.regex(html, /<figure class="diagram sequence"><figcaption>[^<]*<\/figcaption><p class="muted">not drawn/);
  t.regex(html, /granted &lt;echo&gt; &amp; &quot;quoted&quot;/);
  t.regex(html, /<details id="case-2-http-expected-granted-but-A-says-93" open>/);
  t.regex(html, /asked B: nobody <span class="muted">\(mismatch\)/);
});

test('the terminal table lists each case with its verdict, reply and path', async (t) => {
  const text = renderResultTable(await report());
  t.regex(text, /^PASS {2}granted <echo> & "quoted" +90 \(granted\) +C > B > A > z/m);
  t.regex(text, /^FAIL {2}http expected granted but A says 93 +91 \(rejected\) +C > B > A/m);
  t.regex(text, /1 passed, 1 failed \(2 cases, runtime local, 1234 ms\)/);
});

test('report.json, summary.md, index.html and the terminal carry the rule coverage of the observed traces', async (t) => {
  const base = await report();
  const { topology, configs } = await loadTopologyWithConfigs(seedCascadeFile);
  const [granted, http] = await seedCases(cases);
  const coverage = ruleCoverage(
    topology,
    configs,
    base.cases.map((c, i) => ({ case: [granted!, http!][i]!, trace: c.trace })),
    'observed',
    'topologies/seed-cascade.yaml',
  );
  const r: RunReport = { ...base, coverage };
  const json = JSON.parse(renderJson(r));
  const aSockd = json.coverage.hosts.find((h: { host: string }) => h.host === 'A').files[0];
  // granted (port 7) is decided by A's line 2; the http case is compared with 2 and decided by 4.
  t.deepEqual(
    aSockd.lines
      .filter((l: { rule: boolean }) => l.rule)
      .map((l: { line: number; reached: string[]; decided: string[] }) => [
        l.line,
        l.reached.length,
        l.decided.length,
      ]),
    [
      [2, 2, 1],
      [4, 1, 1],
      [5, 0, 0],
    ],
  );
  const md = renderMarkdown(r);
  t.regex(md, /## Rule coverage/);
  t.regex(md, /- `A sockd\.conf:5` `deny 0\.0\.0\.0 0\.0\.0\.0`/);
  t.regex(md, /\| \*\*A\*\* \| total \| 3 \| 2 \| 2 \| 1 \|/);
  const html = renderHtml(r);
  t.regex(html, /<h2>Rule coverage<\/h2>/);
  t.regex(
    html,
    /<tr class="never"><td class="n">5<\/td><td class="n">0<\/td><td class="n">0<\/td><td class="src">deny 0\.0\.0\.0 0\.0\.0\.0 <span class="fail">never reached<\/span>/,
  );
  // Comments of the file are listed too, in order, so the page reads as the config itself.
  t.regex(
    html,
    /<tr class="comment"><td class="n">1<\/td><td><\/td><td><\/td><td class="src"># B relays for its users/,
  );
  t.regex(
    renderCoverage(r),
    /never reached:\n {4}B sockd\.conf:3 {2}deny 0\.0\.0\.0 0\.0\.0\.0\n {4}A sockd\.conf:5/,
  );
});

test('diagrams that could not be drawn are named in report.json, summary.md and index.html', async (t) => {
  const r: RunReport = {
    ...(await report()),
    diagramFailures: [{ diagram: 'granted (svg)', error: 'Graphviz could not lay out the diagram: <x>' }],
  };
  t.deepEqual(JSON.parse(renderJson(r)).diagramFailures, r.diagramFailures);
  t.regex(
    renderMarkdown(r),
    /## Diagrams not drawn\n\n\| diagram \| error \|\n\|---\|---\|\n\| granted \(svg\) \| Graphviz could not/,
  );
  t.regex(
    renderHtml(r),
    /Diagrams not drawn: granted \(svg\) \(Graphviz could not lay out the diagram: &lt;x&gt;\)/,
  );
  t.deepEqual((await report()).diagramFailures, []);
});

test('junit.xml counts passed and failed cases apart, in <testsuites> and in each <testsuite>', async (t) => {
  const [granted, http] = await seedCases(cases);
  const pass = await resultOf(
    granted!,
    grantedCascade(),
    outcomeOf(90, 'hello', { local: ep('10.1.0.10', 40001) }),
  );
  const fail = await resultOf(http!, badIdAtA(), outcomeOf(91, '', { local: ep('10.1.0.10', 40001) }));
  // Two passed, one failed: counts that cannot be swapped unnoticed.
  const r = buildRunReport(
    {
      id: 'run-junit',
      runtime: 'local',
      startedAt: 1_700_000_000_000,
      finishedAt: 1_700_000_001_000,
      scenarios: ['scenarios/synthetic.yaml'],
      tags: [],
      topologyFile: 'topologies/seed-cascade.yaml',
    },
    await seedCascade(),
    [pass, { ...pass, case: { ...pass.case, name: 'granted again' } }, fail],
  );
  t.deepEqual(r.run.totals, { cases: 3, passed: 2, failed: 1 });
  const xml = renderJunit(r);
  t.deepEqual(validateJunit(xml), []);
  t.regex(xml, /<testsuites name="sockslab seed-cascade" tests="3" failures="1" errors="0" /);
  t.regex(xml, /<testsuite name="[^"]+" [^>]* tests="3" failures="1" errors="0" skipped="0" /);
  t.is(xml.match(/<testcase /g)?.length, 3);
  t.is(xml.match(/<failure /g)?.length, 1);
});

test("normalising masks a BIND request's ephemeral port in log text and keeps a CONNECT's design port", (t) => {
  const logs = (port: number) => ({
    logs: [
      `Bind from x(x)@10.1.0.5 for 10.3.0.7 (${port})`,
      `bind() from x(x) for 10.3.0.7 (${port}) using sockd at 10.2.0.1`,
      'Connect from x(x)@10.1.0.5 to 10.3.0.7 (8080)',
      'Bind from x(x)@10.1.0.5 for 10.3.0.7 (ftp)',
    ],
  });
  t.deepEqual(normaliseReport(logs(40312)), normaliseReport(logs(51234)));
  t.deepEqual(normaliseReport(logs(40312)).logs.slice(2), [
    'Connect from x(x)@10.1.0.5 to 10.3.0.7 (8080)',
    'Bind from x(x)@10.1.0.5 for 10.3.0.7 (ftp)',
  ]);
  t.is(
    normaliseReportText('<li>Bind from x(x)@10.1.0.5 for 10.3.0.7 (40312)</li>', []),
    '<li>Bind from x(x)@10.1.0.5 for 10.3.0.7 (<port>)</li>',
  );
});
