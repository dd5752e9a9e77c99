import { Document, isScalar, visit } from 'yaml';
import type { DiffLine, Mutant } from '../analysis/mutants.ts';
import type { MutationRun, SuggestedCase, Verdict } from '../analysis/mutate.ts';
import type { ConfirmResult } from '../analysis/mutate-confirm.ts';
import { rawCase } from '../analysis/witness-case.ts';

/**
 * `sockslab mutate` output: the score, then every surviving mutant as its diff, what it would
 * change and the case that would catch it (YAML, ready to paste under `cases:`), then the
 * equivalent mutants. Pure: run in, text out.
 */

function diffText(file: string, diff: readonly DiffLine[]): string[] {
  return diff.flatMap((d) => [
    `    - ${file}:${d.line}  ${d.before ?? '(no line)'}`,
    `    + ${file}:${d.line}  ${d.after ?? '(line removed)'}`,
  ]);
}

/** The suggested case as YAML, one list item, indented to sit under `cases:`. */
export function suggestedYaml(s: SuggestedCase): string {
  const raw = rawCase(s.case.name, s.witness, s.case.expect);
  const doc = new Document([raw]);
  // Lists of names and maps of plain values on one line, as the scenario files write them.
  visit(doc, {
    Seq: (_, node) => {
      if (node.items.every((i) => isScalar(i))) node.flow = true;
    },
    Map: (_, node) => {
      if (node.items.every((p) => isScalar(p.value))) node.flow = true;
    },
  });
  const text = doc.toString({ lineWidth: 0, flowCollectionPadding: false }).trimEnd();
  const forged = s.witness.request.claim;
  // A forged USERID is not a scenario field yet: say so instead of printing a field that fails.
  return forged !== undefined
    ? `# sends USERID ${JSON.stringify(forged)} as ${s.witness.request.user} (a forged claim; not expressible in a scenario file yet)\n${text}`
    : text;
}

const indent = (text: string, by: string) =>
  text
    .split('\n')
    .map((l) => (l ? by + l : l))
    .join('\n');

function percent(n: number): string {
  return `${(Math.round(n * 10) / 10).toFixed(1)} %`;
}

export function renderMutation(
  run: MutationRun,
  options: { readonly verbose?: boolean; readonly confirm?: readonly ConfirmResult[] } = {},
): string {
  const s = run.score;
  const out: string[] = [
    `mutate ${run.topology}: ${s.total} mutants against ${run.cases} case${run.cases === 1 ? '' : 's'}`,
    `killed ${s.killed}, survived ${s.survived}, equivalent ${run.witnessed ? s.equivalent : '(not decided)'}`,
    `mutation score ${percent(s.percent)} (${s.killed} of ${s.killed + s.survived} non-equivalent mutants killed)`,
  ];
  for (const b of run.brokenCases) {
    out.push(`warning: case "${b.case}" already fails on the design and kills nothing:`);
    for (const f of b.failures) out.push(`  ${f.what}: expects ${f.expected}, configs give ${f.actual}`);
  }
  const confirmed = new Map((options.confirm ?? []).map((c) => [c.mutant, c]));
  const survivors = run.verdicts.filter((v) => v.status === 'survived');
  if (survivors.length > 0) out.push('', "survivors (the suite's blind spots):");
  for (const v of survivors) {
    out.push('', `  ${v.mutant.id}`, ...diffText(v.mutant.file, v.mutant.diff));
    if (v.suggested) {
      out.push('    the mutant would give:');
      for (const d of v.suggested.differences)
        out.push(`      ${d.what}: ${d.actual} (design: ${d.expected})`);
      const c = confirmed.get(v.mutant.id);
      if (c) out.push(`    live (${c.runtime}): ${c.confirmed ? 'confirmed' : `not confirmed: ${c.reason}`}`);
      out.push(
        v.suggested.before !== undefined
          ? `    suggested case (paste it before "${v.suggested.before}", whose steps write ${v.mutant.host}'s ${v.mutant.file} anew):`
          : '    suggested case:',
        indent(suggestedYaml(v.suggested), '      '),
      );
    }
  }
  const equivalent = run.verdicts.filter((v) => v.status === 'equivalent');
  if (equivalent.length > 0) out.push('', 'equivalent (no request class tells them apart):');
  for (const v of equivalent) {
    out.push(
      `  ${v.mutant.id} (${v.witnesses} class${v.witnesses === 1 ? '' : 'es'} meet ${v.mutant.host})`,
      ...diffText(v.mutant.file, v.mutant.diff),
    );
  }
  if (options.verbose) {
    const killed = run.verdicts.filter((v) => v.status === 'killed');
    if (killed.length > 0) out.push('', 'killed:');
    for (const v of killed) out.push(`  ${v.mutant.id}  by "${v.by.case}" (${v.by.failures[0]?.what ?? ''})`);
  }
  out.push('');
  return out.join('\n');
}

function mutantJson(m: Mutant) {
  return {
    id: m.id,
    host: m.host,
    file: m.file,
    line: m.line,
    operator: m.operator,
    detail: m.detail ?? null,
    diff: m.diff,
  };
}

function verdictJson(v: Verdict, confirm: ReadonlyMap<string, ConfirmResult>) {
  const base = { ...mutantJson(v.mutant), status: v.status };
  switch (v.status) {
    case 'killed':
      return { ...base, killedBy: v.by };
    case 'equivalent':
      return { ...base, classes: v.witnesses };
    case 'survived':
      return {
        ...base,
        suggested: v.suggested
          ? {
              witness: v.suggested.witness.label,
              case: rawCase(v.suggested.case.name, v.suggested.witness, v.suggested.case.expect),
              differences: v.suggested.differences,
              before: v.suggested.before ?? null,
            }
          : null,
        ...(confirm.has(v.mutant.id) ? { confirm: confirm.get(v.mutant.id) } : {}),
      };
  }
}

/** mutate --json: a stable shape for CI. */
export function mutationJson(run: MutationRun, confirm: readonly ConfirmResult[] = []): string {
  const byId = new Map(confirm.map((c) => [c.mutant, c]));
  return `${JSON.stringify(
    {
      version: 1,
      topology: run.topology,
      cases: run.cases,
      score: run.score,
      equivalenceDecided: run.witnessed,
      brokenCases: run.brokenCases,
      mutants: run.verdicts.map((v) => verdictJson(v, byId)),
    },
    null,
    2,
  )}\n`;
}
