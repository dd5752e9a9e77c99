import type { ClassChange, DesignDiff, DiffSide } from '../analysis/diff.ts';
import type { ProbeRequest } from '../runtime/runtime.ts';

/**
 * `sockslab diff` output: terminal text, a Markdown comment for a pull request, and JSON. Pure:
 * the diff in, a string out. Past `listLimit` changes the text and Markdown forms group the
 * changes by what changed (the same difference lines) and say so; JSON always lists every one.
 */

export interface DiffRenderOptions {
  /** Group when there are more changes than this (default 40); Infinity lists each. */
  readonly listLimit?: number;
}

const DefaultListLimit = 40;

export function witnessText(w: ProbeRequest): string {
  const claim = w.claim !== undefined ? ` claiming ${w.claim}` : '';
  return `from ${w.from} as ${w.user}${claim}, ${w.protocol} CONNECT ${w.target.host}:${w.target.port}`;
}

function classTitle(c: ClassChange): string {
  return `${c.origin} ${c.protocol} ${c.user} → ${c.destination} port ${c.port}`;
}

function hostSummary(d: DesignDiff): string[] {
  const h = d.hosts;
  const parts = [
    ...(h.added.length ? [`added ${h.added.join(', ')}`] : []),
    ...(h.removed.length ? [`removed ${h.removed.join(', ')}`] : []),
    ...(h.renamed.length ? [`renamed ${h.renamed.map((r) => `${r.before} → ${r.after}`).join(', ')}`] : []),
    ...(h.networksAdded.length ? [`networks added ${h.networksAdded.join(', ')}`] : []),
    ...(h.networksRemoved.length ? [`networks removed ${h.networksRemoved.join(', ')}`] : []),
  ];
  return parts.length ? parts : ['same hosts and networks'];
}

function countLine(d: DesignDiff): string {
  const shared =
    d.notShared > 0 ? `, ${d.notShared} not compared (they involve a host only one design has)` : '';
  const n = d.changes.length;
  return `${d.classes} classes in the joint space of both designs, ${d.compared} compared${shared}: ${n === 0 ? 'no change' : `${n} changed`}`;
}

export interface ChangeGroup {
  readonly differences: readonly string[];
  readonly changes: readonly ClassChange[];
}

/** Changes with the same difference lines, largest group first (then first class id). */
export function groupChanges(changes: readonly ClassChange[]): ChangeGroup[] {
  const groups = new Map<string, ClassChange[]>();
  for (const c of changes) {
    const k = c.differences.join('\n');
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  return [...groups.values()]
    .map((g) => ({ differences: g[0]!.differences, changes: g }))
    .sort((a, b) => b.changes.length - a.changes.length);
}

function confirmText(c: ClassChange): string[] {
  const k = c.confirmation;
  if (!k) return [];
  const side = (name: string, s: typeof k.before) =>
    `${name}: ${s.reply}, ${s.path.join(' → ')}${s.differences.length ? ` — differs from the prediction: ${s.differences.join('; ')}` : ''}`;
  return [
    `   live (${k.runtime}): ${k.confirmed ? 'CONFIRMED' : 'NOT CONFIRMED'}`,
    `     ${side('before', k.before)}`,
    `     ${side('after', k.after)}`,
  ];
}

/** Two traces in two columns, `before | after`. */
function sideBySide(a: DiffSide, b: DiffSide): string[] {
  const left = a.trace.length ? a.trace : ['(no decision)'];
  const right = b.trace.length ? b.trace : ['(no decision)'];
  // Never cut a line: the column is as wide as the longest line before.
  const width = Math.max(6, ...left.map((l) => l.length));
  const rows = Math.max(left.length, right.length);
  const out = [`     ${'before'.padEnd(width)} │ after`];
  for (let i = 0; i < rows; i++) out.push(`     ${(left[i] ?? '').padEnd(width)} │ ${right[i] ?? ''}`);
  return out;
}

function changeText(c: ClassChange, n: number): string[] {
  return [
    `${n}. ${classTitle(c)}`,
    `   class ${c.id}`,
    `   witness: ${witnessText(c.witness)}${c.witnessAfter.from !== c.witness.from || c.witnessAfter.target.host !== c.witness.target.host ? ` (after: ${witnessText(c.witnessAfter)})` : ''}`,
    ...c.differences.map((d) => `   ${d}`),
    ...confirmText(c),
    ...sideBySide(c.before, c.after),
  ];
}

export function renderDiffText(d: DesignDiff, options: DiffRenderOptions = {}): string {
  const limit = options.listLimit ?? DefaultListLimit;
  const out = [`diff ${d.before} → ${d.after}`, `hosts: ${hostSummary(d).join('; ')}`, countLine(d)];
  if (d.changes.length > 0 && d.changes.length <= limit) {
    out.push('');
    d.changes.forEach((c, i) => {
      out.push(...changeText(c, i + 1), '');
    });
  } else if (d.changes.length > limit) {
    const groups = groupChanges(d.changes);
    out.push(
      `grouped: more than ${limit} changes, so classes with the same differences are listed together (${groups.length} groups; --all lists each class, --json gives every one)`,
      '',
    );
    groups.forEach((g, i) => {
      out.push(`${i + 1}. ${g.changes.length} class${g.changes.length === 1 ? '' : 'es'}:`);
      out.push(...g.differences.map((x) => `   ${x}`));
      for (const c of g.changes) out.push(`   - ${classTitle(c)}  [${witnessText(c.witness)}]`);
      const ex = g.changes[0]!;
      out.push(
        ...confirmText(ex),
        `   traces of the first (${ex.id}):`,
        ...sideBySide(ex.before, ex.after),
        '',
      );
    });
  }
  const confirmed = d.changes.filter((c) => c.confirmation);
  if (confirmed.length > 0) {
    const yes = confirmed.filter((c) => c.confirmation!.confirmed).length;
    out.push(
      `live: ${yes} of ${confirmed.length} change${confirmed.length === 1 ? '' : 's'} confirmed on ${confirmed[0]!.confirmation!.runtime}`,
    );
  }
  out.push('');
  return out.join('\n');
}

const md = (s: string) => s.replace(/[|\\`*_<>[\]]/g, (ch) => `\\${ch}`);
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;

function mdChangeRow(c: ClassChange): string {
  const live = c.confirmation ? ` | ${c.confirmation.confirmed ? '✅ confirmed' : '❌ not confirmed'}` : '';
  return `| ${md(classTitle(c))} | ${code(witnessText(c.witness))} | ${c.differences.map(md).join('<br>')}${live} |`;
}

function mdTraces(c: ClassChange): string[] {
  const rows = Math.max(c.before.trace.length, c.after.trace.length);
  const out = [
    '<details>',
    `<summary>traces of ${md(classTitle(c))}</summary>`,
    '',
    '| before | after |',
    '|---|---|',
  ];
  for (let i = 0; i < rows; i++)
    out.push(`| ${md(c.before.trace[i] ?? '')} | ${md(c.after.trace[i] ?? '')} |`);
  out.push('', '</details>', '');
  return out;
}

/** A pull-request comment: summary, a table of changed classes, their traces folded. */
export function renderDiffMarkdown(d: DesignDiff, options: DiffRenderOptions = {}): string {
  const limit = options.listLimit ?? DefaultListLimit;
  const live = d.changes.some((c) => c.confirmation);
  const head = `| class | witness | what changes${live ? ' | live' : ''} |`;
  const rule = `|---|---|---${live ? '|---' : ''}|`;
  const out = [
    `### sockslab diff: ${md(d.before)} → ${md(d.after)}`,
    '',
    `- hosts: ${hostSummary(d).map(md).join('; ')}`,
    `- ${md(countLine(d))}`,
    '',
  ];
  if (d.changes.length === 0) {
    out.push('No request class changes its outcome.', '');
    return out.join('\n');
  }
  if (d.changes.length <= limit) {
    out.push(head, rule, ...d.changes.map(mdChangeRow), '');
    for (const c of d.changes) out.push(...mdTraces(c));
    return out.join('\n');
  }
  const groups = groupChanges(d.changes);
  out.push(
    `Grouped: ${d.changes.length} changes (more than ${limit}) in ${groups.length} groups of classes with the same differences; the JSON output lists every class.`,
    '',
  );
  groups.forEach((g, i) => {
    out.push(
      `#### ${i + 1}. ${g.changes.length} class${g.changes.length === 1 ? '' : 'es'}: ${g.differences.map(md).join('; ')}`,
      '',
      head,
      rule,
      ...g.changes.map(mdChangeRow),
      '',
      ...mdTraces(g.changes[0]!),
    );
  });
  return out.join('\n');
}

/** `--json`: the whole diff, every change, stable key order. */
export function diffJson(d: DesignDiff): string {
  return `${JSON.stringify({ version: 1, ...d }, null, 2)}\n`;
}
