import { type Matrix, type MatrixRow, type Verdict, Verdicts } from '../analysis/matrix.ts';
import { attemptsCell, linesCell, pathCell, routeCell } from './matrix-text.ts';
import { xmlEscape as h } from './xml.ts';

/**
 * The matrix in a run report: `report.json` key `matrix` (added beside the existing keys, so the
 * report version stays) and the heat-map section of index.html — origin × destination service,
 * each cell a bar of its classes' verdicts; hovering a cell shows its outcomes (path, lines),
 * clicking opens the list below. Pure: model in, model/string out.
 */

/** Above this many classes report.json keeps the heat map and counts, not every row (and says so). */
export const MaxReportRows = 5000;

export interface HeatOutcome {
  readonly verdict: Verdict;
  readonly reply: number | null;
  readonly path: string;
  readonly lines: string;
  readonly identd: string;
  readonly route: string;
  readonly failover: string;
  readonly classes: number;
  /** A few of the classes, as `protocol user → destination:port`. */
  readonly examples: readonly string[];
}

export interface HeatCell {
  readonly origin: string;
  readonly service: string;
  readonly counts: Partial<Record<Verdict, number>>;
  readonly outcomes: readonly HeatOutcome[];
}

export interface MatrixReport {
  /** Classes enumerated (the whole space). */
  readonly classes: number;
  readonly evaluated: number;
  readonly notes: readonly string[];
  readonly verdicts: Partial<Record<Verdict, number>>;
  readonly origins: readonly { readonly id: string; readonly hosts: readonly string[] }[];
  /** Destination services: hosts and a port they listen on; `other` = every other destination and port. */
  readonly services: readonly {
    readonly id: string;
    readonly hosts: readonly string[];
    readonly port: string;
  }[];
  readonly cells: readonly HeatCell[];
  /** Every class, when there are at most MaxReportRows of them. */
  readonly rows?: readonly MatrixRow[];
  readonly rowsOmitted?: { readonly count: number; readonly reason: string };
}

export const OtherService = 'other';

function serviceOf(r: MatrixRow): { id: string; hosts: readonly string[]; port: string } {
  const hosts = [...r.destination.hosts].sort();
  if (hosts.length === 0 || !r.port.listening) return { id: OtherService, hosts: [], port: '' };
  const name = hosts.length > 3 ? `${hosts.slice(0, 2).join(',')},…(${hosts.length})` : hosts.join(',');
  return { id: `${name}:${r.port.label}`, hosts, port: r.port.label };
}

function example(r: MatrixRow): string {
  return `${r.protocol} ${r.user.label} → ${r.destination.kind === 'name' ? 'name ' : ''}${r.destination.label}:${r.port.label}`;
}

function outcomesOf(rows: readonly MatrixRow[]): HeatOutcome[] {
  const groups = new Map<string, MatrixRow[]>();
  for (const r of rows) {
    const path = r.reached ? [...r.path.slice(0, -1), '(destination)'].join(' > ') : pathCell(r);
    const k = JSON.stringify([r.verdict, r.reply, path, linesCell(r), routeCell(r), attemptsCell(r)]);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()]
    .sort((a, b) => b.length - a.length)
    .map((g) => {
      const r = g[0]!;
      return {
        verdict: r.verdict,
        reply: r.reply,
        path:
          r.reached && new Set(g.map((x) => x.path.at(-1))).size > 1
            ? [...r.path.slice(0, -1), '(destination)'].join(' > ')
            : pathCell(r),
        lines: linesCell(r),
        identd: r.hops
          .filter((x) => x.identd)
          .map((x) => `${x.host} asks ${x.identd!.queried}: ${x.identd!.verdict}`)
          .join('; '),
        route: routeCell(r),
        failover: attemptsCell(r),
        classes: g.length,
        examples: g.slice(0, 3).map(example),
      };
    });
}

function countVerdicts(rows: readonly MatrixRow[]): Partial<Record<Verdict, number>> {
  const counts: Partial<Record<Verdict, number>> = {};
  for (const r of rows) counts[r.verdict] = (counts[r.verdict] ?? 0) + 1;
  return counts;
}

/** The report.json form of a matrix: heat-map cells always, every row when there are few enough. */
export function matrixReport(m: Matrix): MatrixReport {
  const services = new Map<string, { id: string; hosts: readonly string[]; port: string }>();
  const cells = new Map<string, { origin: string; service: string; rows: MatrixRow[] }>();
  const origins = new Map<string, readonly string[]>();
  for (const r of m.rows) {
    origins.set(r.origin, r.origins);
    const s = serviceOf(r);
    if (!services.has(s.id)) services.set(s.id, s);
    const key = `${r.origin}\u0000${s.id}`;
    const cell = cells.get(key) ?? { origin: r.origin, service: s.id, rows: [] };
    cell.rows.push(r);
    cells.set(key, cell);
  }
  const ordered = [...services.values()].sort((a, b) =>
    a.id === OtherService
      ? 1
      : b.id === OtherService
        ? -1
        : a.id.localeCompare(b.id, 'en', { numeric: true }),
  );
  const all = m.rows.length <= MaxReportRows;
  return {
    classes: m.classes,
    evaluated: m.rows.length,
    notes: m.notes,
    verdicts: countVerdicts(m.rows),
    origins: [...origins].map(([id, hosts]) => ({ id, hosts })),
    services: ordered,
    cells: [...cells.values()].map((c) => ({
      origin: c.origin,
      service: c.service,
      counts: countVerdicts(c.rows),
      outcomes: outcomesOf(c.rows),
    })),
    ...(all
      ? { rows: m.rows }
      : {
          rowsOmitted: {
            count: m.rows.length,
            reason: `more than ${MaxReportRows} classes: the cells above group them; \`sockslab matrix --json\` writes every class`,
          },
        }),
  };
}

const VerdictColour: Record<Verdict, string> = {
  granted: '#2da44e',
  direct: '#8ddb8c',
  refused: '#cf222e',
  identd: '#bf8700',
  unreachable: '#8250df',
  'client-deny': '#57606a',
  'no-reply': '#afb8c1',
};

export const MatrixStyle = `
table.heat td.cell{padding:0;min-width:4.5rem} .heat a{display:flex;height:1.6rem;text-decoration:none}
.heat a span{display:block;height:100%} .heat th.svc{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;font-weight:500}
.legend span{display:inline-block;width:.9rem;height:.9rem;margin:0 .25rem 0 .8rem;vertical-align:middle}
`;

function cellId(c: HeatCell): string {
  return `m-${(c.origin + '-' + c.service).replace(/[^A-Za-z0-9_-]+/g, '-')}`;
}

function tooltip(c: HeatCell): string {
  return c.outcomes
    .map(
      (o) =>
        `${o.verdict} ×${o.classes}: ${o.path}${o.lines ? ` · ${o.lines}` : ''}${o.identd ? ` · ${o.identd}` : ''}${o.failover ? ` · ${o.failover}` : ''}`,
    )
    .join('\n');
}

function bar(c: HeatCell): string {
  const total = Object.values(c.counts).reduce((a, b) => a + (b ?? 0), 0);
  return (Object.keys(Verdicts) as Verdict[])
    .filter((v) => (c.counts[v] ?? 0) > 0)
    .map(
      (v) =>
        `<span style="width:${((100 * (c.counts[v] ?? 0)) / total).toFixed(1)}%;background:${VerdictColour[v]}"></span>`,
    )
    .join('');
}

/** The index.html section: legend, heat map (origin rows × service columns), and each cell's outcomes. */
export function renderMatrixHtml(r: MatrixReport): string {
  const byKey = new Map(r.cells.map((c) => [`${c.origin}\u0000${c.service}`, c]));
  const legend = (Object.keys(Verdicts) as Verdict[])
    .filter((v) => (r.verdicts[v] ?? 0) > 0)
    .map((v) => `<span style="background:${VerdictColour[v]}"></span>${h(v)} ${r.verdicts[v]}`)
    .join('');
  const head = `<tr><th>origin</th>${r.services.map((s) => `<th class="svc">${h(s.id === OtherService ? 'other destinations' : s.id)}</th>`).join('')}</tr>`;
  const rows = r.origins.map((o) => {
    const label =
      o.hosts.length > 1 ? `${o.id} <span class="muted">(+${o.hosts.length - 1} alike)</span>` : h(o.id);
    const tds = r.services.map((s) => {
      const c = byKey.get(`${o.id}\u0000${s.id}`);
      return c
        ? `<td class="cell"><a href="#${cellId(c)}" title="${h(tooltip(c))}">${bar(c)}</a></td>`
        : '<td class="cell"></td>';
    });
    return `<tr><td>${label}</td>${tds.join('')}</tr>`;
  });
  const details = r.cells.map(
    (c) =>
      `<details id="${cellId(c)}"><summary>${h(c.origin)} → ${h(c.service === OtherService ? 'other destinations' : c.service)}: ${Object.entries(
        c.counts,
      )
        .map(([v, n]) => `${h(v)} ${n}`)
        .join(', ')}</summary>
<table><tr><th>classes</th><th>verdict</th><th>reply</th><th>path</th><th>lines</th><th>identd</th><th>route</th><th>failover</th><th>e.g.</th></tr>
${c.outcomes
  .map(
    (o) =>
      `<tr><td>${o.classes}</td><td>${h(o.verdict)}</td><td>${o.reply ?? '—'}</td><td>${h(o.path)}</td><td><code>${h(o.lines)}</code></td><td>${h(o.identd)}</td><td><code>${h(o.route)}</code></td><td>${h(o.failover)}</td><td>${o.examples.map(h).join('<br>')}</td></tr>`,
  )
  .join('\n')}
</table></details>`,
  );
  return `<h2>Request classes</h2>
<p class="muted">${r.classes} exact request classes enumerated from the configs (${r.evaluated} evaluated with the policy engine, before any fault step); each cell is one origin × destination service, coloured by the verdicts of its classes. Hover a cell for its outcomes, click it for the list.${r.rowsOmitted ? ` ${h(r.rowsOmitted.reason)}.` : ''}</p>
${r.notes.map((n) => `<p class="muted">note: ${h(n)}</p>`).join('\n')}
<p class="legend">${legend}</p>
<table class="heat">${head}
${rows.join('\n')}
</table>
${details.join('\n')}`;
}
