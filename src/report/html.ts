import type { FileCoverage, RuleCoverage } from '../analysis/rule-coverage.ts';
import { describeReply } from '../scenario/replies.ts';
import { attemptTarget } from '../scenario/trace-text.ts';
import { coverageHeadline, fileLabel } from './coverage-text.ts';
import type { DiagramHooks } from './diagrams.ts';
import { MatrixStyle, renderMatrixHtml } from './matrix-heat.ts';
import { type CaseReport, type HopReport, type RunReport, requestUser } from './model.ts';
import { xmlEscape as h } from './xml.ts';

/**
 * index.html: one self-contained page (inline CSS, inline SVG, no scripts, no external
 * resources) a reviewer can open from the report directory or an archived CI artifact. Made
 * from the report and its diagrams by `renderHtml` alone, so merged shards get the same page.
 * Per case: the case map and the sequence view; failed cases open, passed ones folded.
 */

const Style = `
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d232a;background:#fff}
h1{font-size:1.5rem;margin:0 0 .3rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.6rem 0;font-size:13px} th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5f7} tr.failed td{background:#fff1f0} .pass{color:#116329;font-weight:600} .fail{color:#a40e26;font-weight:600}
code,pre{font:12px/1.4 ui-monospace,monospace} pre{background:#f6f8fa;padding:.6rem;overflow-x:auto}
details{margin:.5rem 0;border:1px solid #d0d7de;border-radius:4px;padding:.4rem .7rem} summary{cursor:pointer}
figure.diagram{margin:.6rem 0;max-height:85vh;overflow:auto;border:1px solid #eef1f4;background:#fff}
figure.diagram figcaption{position:sticky;left:0;top:0;font-size:12px;color:#59636e;padding:.15rem .4rem;background:#fff}
figure.diagram svg{display:block} .muted{color:#59636e}
table.conf td.n{text-align:right;font-variant-numeric:tabular-nums} table.conf td.src{font:12px/1.4 ui-monospace,monospace;white-space:pre}
table.conf tr.comment td{color:#59636e;border-color:#eef1f4} table.conf tr.never td{background:#fff1f0} table.conf tr.never td.src{font-weight:600}
table.conf tr.undecided td{background:#fff8e5}
`;

const verdict = (c: CaseReport) =>
  `<span class="${c.verdict}">${c.verdict === 'pass' ? 'pass' : 'FAIL'}</span>`;
const dash = (v: string | number | null | undefined) =>
  v === null || v === undefined || v === '' ? '—' : h(String(v));

function hopRow(hop: HopReport): string {
  const d = hop.decision;
  const route = hop.route
    ? `${h(hop.route.action)}${hop.route.line !== null ? ` (line ${hop.route.line})` : ''}` +
      (hop.route.attempts.length
        ? `<br>${hop.route.attempts.map((a) => `${h(attemptTarget(a))} ${a.ok ? '✓' : `✗ ${dash(a.error)}`}`).join('<br>')}`
        : '')
    : '—';
  const identd = hop.identd
    ? `asked ${h(hop.identd.queried)}: ${dash(hop.identd.user ?? hop.identd.answer)} <span class="muted">(${h(hop.identd.verdict)})</span>`
    : '<span class="muted">not asked</span>';
  return `<tr><td>${h(hop.host)}</td><td>${h(hop.from)}</td><td>${dash(hop.user || '""')}</td><td>${h(d.action)} <code>${dash(d.file)}:${dash(d.line)}</code> <span class="muted">${h(d.reason)}</span></td><td>${identd}</td><td>${route}</td><td>${h(hop.replyName)}${(hop.details ?? []).map((x) => `<br><span class="muted">${h(x)}</span>`).join('')}</td></tr>`;
}

function caseSection(c: CaseReport, index: number, hooks: DiagramHooks): string {
  const parts = [
    `<details id="${caseId(c, index)}"${c.verdict === 'fail' ? ' open' : ''}><summary>${verdict(c)} <strong>${h(c.name)}</strong> — ${h(requestUser(c))}@${h(c.request.from)} ${h(c.request.command)} ${h(c.request.target)} (${h(c.request.protocol)}, first hop ${h(c.request.via)}): ${h(c.observed.replyName)}</summary>`,
    `<p class="muted"><code>${h(c.source.file)}:${c.source.line}</code>${c.tags.length ? ` · tags: ${c.tags.map(h).join(', ')}` : ''}${c.request.steps.length ? ` · steps: ${c.request.steps.map(h).join('; ')}` : ''}</p>`,
    `<p>Path: <strong>${c.observed.path.map(h).join(' → ')}</strong>${c.observed.error ? ` · error: ${h(c.observed.error)}` : ''}</p>`,
  ];
  if (c.failures.length) {
    parts.push(
      '<table><tr><th>check</th><th>expected</th><th>actual</th></tr>',
      ...c.failures.map(
        (f) =>
          `<tr class="failed"><td>${h(f.what)}</td><td><pre>${h(f.expected)}</pre></td><td><pre>${h(f.actual)}</pre></td></tr>`,
      ),
      '</table>',
    );
  }
  if (c.prediction) {
    parts.push(
      `<p>Prediction: ${c.prediction.agreed ? 'agrees' : '<span class="fail">disagrees</span>'} — ${h(describeReply(c.prediction.reply, c.request.protocol))}, ${c.prediction.path.map(h).join(' → ')}${c.prediction.differences.length ? `<br>${c.prediction.differences.map(h).join('<br>')}` : ''}</p>`,
    );
  }
  if (c.observed.hops.length) {
    parts.push(
      '<table><tr><th>hop</th><th>from</th><th>user claimed</th><th>decision</th><th>identd</th><th>route</th><th>reply</th></tr>',
      ...c.observed.hops.map(hopRow),
      '</table>',
    );
  } else {
    parts.push('<p class="muted">No server saw this request.</p>');
  }
  // Without diagram hooks (a report rendered on its own) there is nothing to show or miss.
  if (hooks.caseSvg || hooks.caseSequenceSvg)
    parts.push(
      diagramFigure(
        'map',
        'Case map: the request over the topology, steps numbered as in the key',
        hooks.caseSvg?.(c),
      ),
      diagramFigure(
        'sequence',
        'Sequence: client → hops → destination, and the replies back',
        hooks.caseSequenceSvg?.(c),
      ),
    );
  const logs = c.trace.hops.flatMap((hop) => hop.logs.map((l) => `${hop.host}: ${l}`));
  const cmds = c.trace.hops.flatMap((hop) => hop.commands.map((l) => `${hop.host}: ${l}`));
  if (logs.length) parts.push(`<p>Log lines:</p><pre>${h(logs.join('\n'))}</pre>`);
  if (cmds.length) parts.push(`<p>Shell commands:</p><pre>${h(cmds.join('\n'))}</pre>`);
  parts.push('</details>');
  return parts.join('\n');
}

/**
 * One diagram at its drawn size (Graphviz points, so 10–12 pt text stays readable) in a box
 * that scrolls when the drawing is bigger than the page, rather than shrinking it to fit.
 */
function diagramFigure(
  kind: 'topology' | 'map' | 'sequence',
  caption: string,
  svg: string | undefined,
): string {
  const body =
    svg === undefined
      ? '<p class="muted">not drawn (see “Diagrams not drawn” above)</p>'
      : stripXmlProlog(svg);
  return `<figure class="diagram ${kind}"><figcaption>${h(caption)}</figcaption>${body}</figure>`;
}

/** One config file, every physical line, with the cases that reached it and those it decided. */
function coverageFile(f: FileCoverage): string {
  const rows = f.lines.map((l) => {
    if (!l.rule)
      return `<tr class="comment"><td class="n">${l.line}</td><td></td><td></td><td class="src">${h(l.text)}</td></tr>`;
    const cls =
      l.reached.length === 0 ? ' class="never"' : l.decided.length === 0 ? ' class="undecided"' : '';
    const title = (names: readonly string[]) => (names.length ? ` title="${h(names.join('\n'))}"` : '');
    return `<tr${cls}><td class="n">${l.line}</td><td class="n"${title(l.reached)}>${l.reached.length}</td><td class="n"${title(l.decided)}>${l.decided.length}</td><td class="src">${h(l.text)}${l.reached.length === 0 ? ' <span class="fail">never reached</span>' : ''}</td></tr>`;
  });
  const t = f.totals;
  return [
    `<h3>${h(f.host)} ${h(fileLabel(f))} <span class="muted">· <code>${h(f.origin)}</code> · ${t.reached} of ${t.rules} rule lines reached, ${t.decided} decided</span></h3>`,
    '<table class="conf"><tr><th>line</th><th>reached</th><th>decided</th><th>text</th></tr>',
    ...rows,
    '</table>',
  ].join('\n');
}

function coverageSection(c: RuleCoverage): string {
  const totals = c.hosts.flatMap((host) => [
    ...host.files.map(
      (f) =>
        `<tr><td>${h(host.host)}</td><td>${h(fileLabel(f))}</td><td>${f.totals.rules}</td><td>${f.totals.reached}</td><td>${f.totals.decided}</td><td>${f.totals.never}</td></tr>`,
    ),
    `<tr><th>${h(host.host)}</th><th>total</th><th>${host.totals.rules}</th><th>${host.totals.reached}</th><th>${host.totals.decided}</th><th>${host.totals.never}</th></tr>`,
  ]);
  const never = c.never.length
    ? `<p>Never reached: ${c.never.map((n) => `<code>${h(n.host)} ${h(fileLabel(n))}:${n.line}</code>`).join(', ')}</p>`
    : '<p>Every rule line was reached by at least one case.</p>';
  const uncounted = c.uncounted.length
    ? `<p class="muted">Not counted (decided under a text a scenario step had replaced): ${c.uncounted.map((u) => `${h(u.case)} at ${h(u.host)} ${h(u.file)}${u.line !== null ? `:${u.line}` : ''}`).join('; ')}</p>`
    : '';
  return [
    '<h2>Rule coverage</h2>',
    `<p>${h(coverageHeadline(c))}. <span class="muted">Reached: the request was compared with the line (every line before the deciding one, and that one). Decided: the line matched. Hover a count for the cases.</span></p>`,
    '<table><tr><th>host</th><th>file</th><th>rule lines</th><th>reached</th><th>decided</th><th>never reached</th></tr>',
    ...totals,
    '</table>',
    never,
    uncounted,
    ...c.hosts.flatMap((host) => host.files.map(coverageFile)),
  ].join('\n');
}

/** Unique per report even when two names differ only in punctuation. */
/** The servers' own counters per host (what `--metrics` serves), when the runtime reported them. */
function serverTotalsSection(report: RunReport): string {
  if (!report.servers || report.servers.length === 0) return '';
  const counts = (r: Readonly<Record<string, number>>) =>
    Object.entries(r)
      .map(([k, n]) => `${h(k)}: ${n}`)
      .join(', ') || '—';
  const rows = report.servers.map(
    (s) =>
      `<tr><td>${h(s.host)}</td><td>${s.sessions}</td><td>${s.permitted}</td><td>${s.denied}</td><td>${counts(s.replies)}</td><td>${counts(s.identd)}</td><td>${s.upstreamAttempts}</td><td>${s.upstreamFailovers}</td><td>${s.bytesFromClient}</td><td>${s.bytesFromRemote}</td></tr>`,
  );
  return `<h2>Server counters</h2>
<p class="muted">Per host, the whole run: what each server counted itself (its <code>--metrics</code>), including requests the lab made beyond the cases.</p>
<table><tr><th>host</th><th>sessions</th><th>permitted</th><th>denied</th><th>replies by code</th><th>identd</th><th>upstream attempts</th><th>failovers</th><th>bytes from clients</th><th>bytes from remotes</th></tr>
${rows.join('\n')}
</table>
`;
}

function caseId(c: CaseReport, index: number): string {
  return `case-${index + 1}-${anchor(c.name)}`;
}

export function anchor(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-|-$/g, '');
}

/** Inline SVG must not carry an XML prolog or DOCTYPE inside HTML. */
export function stripXmlProlog(svg: string): string {
  return svg.replace(/^\s*<\?xml[^>]*\?>\s*/, '').replace(/^\s*<!DOCTYPE[^>]*>\s*/i, '');
}

export function renderHtml(report: RunReport, hooks: DiagramHooks = {}): string {
  const t = report.run.totals;
  const p = report.run.predictions;
  const rows = report.cases.map(
    (c, i) =>
      `<tr${c.verdict === 'fail' ? ' class="failed"' : ''}><td>${verdict(c)}</td><td><a href="#${caseId(c, i)}">${h(c.name)}</a></td><td>${h(c.scenario)}</td><td>${h(requestUser(c))}@${h(c.request.from)} ${h(c.request.command)} ${h(c.request.target)}</td><td>${h(c.observed.replyName)}</td><td>${c.observed.path.map(h).join(' → ')}</td><td>${c.prediction ? (c.prediction.agreed ? 'agrees' : '<span class="fail">disagrees</span>') : 'n/a'}</td></tr>`,
  );
  const attribution = report.attribution.map(
    (r) =>
      `<tr><td>${h(r.case)}</td><td>${h(r.hop)}</td><td>${h(r.from)}</td><td>${dash(r.queried)}</td><td>${dash(r.answer)}</td><td>${dash(r.identdUser)}</td><td>${dash(r.ruleUser || '""')}</td><td>${h(r.verdict)}</td><td><code>${h(r.decision)}</code></td></tr>`,
  );
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sockslab — ${h(report.topology.name)} — ${t.failed ? `${t.failed} failed` : 'all passed'}</title>
<style>${Style}${report.matrix ? MatrixStyle : ''}</style>
</head>
<body>
<h1>sockslab run — ${h(report.topology.name)}</h1>
<p class="muted">runtime ${h(report.run.runtime)} · run <code>${h(report.run.id)}</code> · ${h(report.run.startedAt)} · ${report.run.durationMs} ms · topology <code>${h(report.topology.file)}</code></p>
<p><span class="${t.failed ? 'fail' : 'pass'}">${t.passed} passed, ${t.failed} failed</span> of ${t.cases} cases · prediction: ${p.agreed} agreed, ${p.disagreed} disagreed, ${p.none} not predicted</p>
${report.diagramFailures.length ? `<p class="fail">Diagrams not drawn: ${report.diagramFailures.map((f) => `${h(f.diagram)} (${h(f.error)})`).join('; ')}</p>` : ''}
${hooks.topologySvg ? `<h2>Topology</h2>\n${diagramFigure('topology', 'Topology (scrolls when larger than the window)', hooks.topologySvg)}` : ''}
<h2>Results</h2>
<table><tr><th>verdict</th><th>case</th><th>scenario</th><th>request</th><th>reply</th><th>path</th><th>prediction</th></tr>
${rows.join('\n')}
</table>
${report.matrix ? renderMatrixHtml(report.matrix) : ''}
<h2>identd attribution</h2>
<p class="muted">Per request and hop: which host's identd the hop asked, what it answered, and the user the deciding rule saw.</p>
<table><tr><th>request</th><th>hop</th><th>client host</th><th>identd asked</th><th>answer</th><th>identd user</th><th>rule saw user</th><th>verdict</th><th>decision</th></tr>
${attribution.join('\n')}
</table>
${report.coverage ? coverageSection(report.coverage) : ''}
${serverTotalsSection(report)}<h2>Cases</h2>
${report.cases.map((c, i) => caseSection(c, i, hooks)).join('\n')}
</body>
</html>
`;
}
