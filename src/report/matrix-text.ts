import type { Matrix, MatrixRow } from '../analysis/matrix.ts';
import { describeReply } from '../scenario/replies.ts';

/**
 * `sockslab matrix` output: the cells every format shares (lines, route, identd, failover in one
 * notation), the terminal table grouped by origin, CSV and JSON. Pure: model in, string out.
 */

/** `B sockd.conf:2, A sockd.conf:5` — the deciding sockd.conf line of every hop (`-` = no line). */
export function linesCell(r: MatrixRow): string {
  return r.hops.map((h) => `${h.host} ${h.line ?? '-'}`).join(', ');
}

/** `B socks.conf:3 sockd` for every hop that routed (rsockd). */
export function routeCell(r: MatrixRow): string {
  return r.hops
    .filter((h) => h.route)
    .map((h) => `${h.host} ${h.route!.line ?? '(no line)'} ${h.route!.action}`)
    .join(', ');
}

/** `B asks C: x confirmed; A asks B: nobody mismatch`. */
export function identdCell(r: MatrixRow): string {
  return r.hops
    .filter((h) => h.identd)
    .map(
      (h) => `${h.host} asks ${h.identd!.queried}: ${h.identd!.user ?? '(no answer)'} ${h.identd!.verdict}`,
    )
    .join('; ');
}

/** `R: fw1 ✗, fw2 ✓` — the d.7 server attempts of every hop that tried more than one. */
export function attemptsCell(r: MatrixRow): string {
  return r.hops
    .filter((h) => (h.route?.attempts.length ?? 0) > 1 || h.route?.attempts.some((a) => !a.ok))
    .map(
      (h) =>
        `${h.host}: ${h.route!.attempts.map((a) => `${a.host ?? a.server} ${a.ok ? '✓' : '✗'}`).join(', ')}`,
    )
    .join('; ');
}

export function pathCell(r: MatrixRow): string {
  return r.path.join(' > ');
}

export function replyCell(r: MatrixRow): string {
  return r.reply === null ? '-' : String(r.reply);
}

function userCell(r: MatrixRow): string {
  return r.user.label;
}

function destinationCell(r: MatrixRow): string {
  return r.destination.kind === 'name' ? `name ${r.destination.label}` : r.destination.label;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Above this many rows the terminal table groups classes by outcome (and says so). */
export const TerminalRowLimit = 200;

function table(head: readonly string[], rows: readonly (readonly string[])[], indent = '  '): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) =>
    indent +
    r
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

function originTitle(rows: readonly MatrixRow[]): string {
  const first = rows[0]!;
  const alike =
    first.origins.length > 1
      ? ` (stands for ${first.origins.length} alike hosts: ${shortList(first.origins, 6)})`
      : '';
  return `${first.origin}${alike} — ${rows.length} classes: ${verdictCounts(rows)}`;
}

function verdictCounts(rows: readonly MatrixRow[]): string {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.verdict, (counts.get(r.verdict) ?? 0) + 1);
  return [...counts].map(([v, n]) => `${v} ${n}`).join(', ');
}

function shortList(items: readonly string[], max = 3): string {
  const unique = [...new Set(items)];
  return unique.length > max
    ? `${unique.slice(0, max).join(', ')}, … (+${unique.length - max})`
    : unique.join(', ');
}

function byOrigin(rows: readonly MatrixRow[]): MatrixRow[][] {
  const groups = new Map<string, MatrixRow[]>();
  for (const r of rows) groups.set(r.origin, [...(groups.get(r.origin) ?? []), r]);
  return [...groups.values()];
}

/** Rows with one outcome: verdict, reply, path (without the destination's name), lines, identd verdicts, route. */
export function outcomeOf(r: MatrixRow): string {
  const path = r.reached ? r.path.slice(0, -1) : r.path;
  return JSON.stringify([
    r.verdict,
    r.reply,
    path,
    linesCell(r),
    routeCell(r),
    attemptsCell(r),
    r.hops.map((h) => (h.identd ? `${h.host}:${h.identd.verdict}` : '')),
  ]);
}

export interface MatrixTextOptions {
  /** Every class on its own line even above TerminalRowLimit. */
  readonly all?: boolean;
}

export function renderMatrixText(m: Matrix, options: MatrixTextOptions = {}): string {
  const out: string[] = [];
  const filtered = m.rows.length !== m.classes;
  out.push(
    `sockslab matrix — ${m.topology}: ${m.classes} classes enumerated (${plural(m.atoms.origins, 'origin')}, ${m.atoms.addresses} address atoms, ${m.atoms.names} name atoms, ${m.atoms.users} named users)${filtered ? `, ${m.rows.length} selected by the filter` : ''}`,
  );
  for (const n of m.notes) out.push(`  note: ${n}`);
  const grouped = !options.all && m.rows.length > TerminalRowLimit;
  if (grouped) {
    const outcomes = new Set(m.rows.map(outcomeOf)).size;
    out.push(
      `  grouped: ${m.rows.length} classes are more than ${TerminalRowLimit} rows, so each origin's classes are grouped by outcome (${outcomes} outcomes); --all prints every class, --csv/--json give every class, --from/--user/--to/--port narrow it.`,
    );
  }
  for (const rows of byOrigin(m.rows)) {
    out.push('', originTitle(rows));
    out.push(...(grouped ? groupedTable(rows) : columnTable(ClassColumns, rows)));
  }
  if (m.rows.length === 0) out.push('', 'no class matches the filter');
  return `${out.join('\n')}\n`;
}

/** A table of these columns, one row an item. */
function columnTable<T>(columns: readonly Column<T>[], items: readonly T[]): string[] {
  return table(
    columns.map(([head]) => head),
    items.map((item) => columns.map(([, cell]) => cell(item))),
  );
}

type Column<T> = readonly [head: string, cell: (item: T) => string];

/** What became of a class, after its reply, in every format: verdict, path, lines, identd, route, failover. */
const OutcomeColumns: readonly Column<MatrixRow>[] = [
  ['verdict', (r) => r.verdict],
  ['path', pathCell],
  ['lines', linesCell],
  ['identd', identdCell],
  ['route', routeCell],
  ['failover', attemptsCell],
];

/** The terminal table, one row a class. */
const ClassColumns: readonly Column<MatrixRow>[] = [
  ['proto', (r) => r.protocol],
  ['user', userCell],
  ['destination', destinationCell],
  ['port', (r) => r.port.label],
  ['reply', replyCell],
  ...OutcomeColumns,
];

/**
 * The grouped terminal table, one row the classes of one outcome: the outcome columns of the
 * group's first class, but a path to `(destination)` when the group reaches several, and the
 * identd verdicts without the users; then what the classes have in between.
 */
const GroupColumns: readonly Column<readonly MatrixRow[]>[] = [
  ['classes', (g) => String(g.length)],
  ['reply', (g) => replyCell(g[0]!)],
  ...OutcomeColumns.map(([head, cell]): Column<readonly MatrixRow[]> => {
    if (head === 'path') return [head, groupPathCell];
    if (head === 'identd') return [head, (g) => identdVerdictsCell(g[0]!)];
    return [head, (g) => cell(g[0]!)];
  }),
  ['protocols', (g) => shortList(g.map((x) => x.protocol))],
  ['users', (g) => shortList(g.map(userCell))],
  ['destinations', (g) => shortList(g.map(destinationCell))],
  ['ports', (g) => shortList(g.map((x) => x.port.label))],
];

function groupPathCell(g: readonly MatrixRow[]): string {
  const r = g[0]!;
  return r.reached && new Set(g.map((x) => x.path.at(-1))).size > 1
    ? [...r.path.slice(0, -1), '(destination)'].join(' > ')
    : pathCell(r);
}

/** `B asks C: confirmed` — identdCell without the users, which differ within a group. */
function identdVerdictsCell(r: MatrixRow): string {
  return r.hops
    .filter((h) => h.identd)
    .map((h) => `${h.host} asks ${h.identd!.queried}: ${h.identd!.verdict}`)
    .join('; ');
}

function groupedTable(rows: readonly MatrixRow[]): string[] {
  const groups = new Map<string, MatrixRow[]>();
  for (const r of rows) {
    const k = outcomeOf(r);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const sorted = [...groups.values()].sort((a, b) => b.length - a.length);
  return columnTable(GroupColumns, sorted);
}

/** RFC 4180: every field quoted, quotes doubled; one line per class. */
export function renderMatrixCsv(m: Matrix): string {
  const head = [
    'origin',
    'origin_hosts',
    'protocol',
    'user',
    'user_kind',
    'owner',
    'claim',
    'destination',
    'destination_kind',
    'witness',
    'live',
    'port',
    'port_witness',
    'reply',
    'reply_name',
    ...OutcomeColumns.map(([head]) => head),
    'class',
  ];
  const q = (v: string | number | boolean) => `"${String(v).replaceAll('"', '""')}"`;
  const rows = m.rows.map((r) =>
    [
      r.origin,
      r.origins.join(' '),
      r.protocol,
      r.user.label,
      r.user.kind,
      r.user.owner,
      r.user.claim ?? '',
      r.destination.label,
      r.destination.kind,
      r.destination.witness,
      r.destination.live,
      r.port.label,
      r.port.witness,
      r.reply ?? '',
      describeReply(r.reply, r.protocol),
      ...OutcomeColumns.map(([, cell]) => cell(r)),
      r.id,
    ]
      .map(q)
      .join(','),
  );
  return `${[head.map(q).join(','), ...rows].join('\r\n')}\r\n`;
}

export function renderMatrixJson(m: Matrix): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}
