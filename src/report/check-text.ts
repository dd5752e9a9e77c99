import type { CheckResult } from '../analysis/check.ts';
import { describeReply } from '../scenario/replies.ts';
import { coverageText } from './coverage-text.ts';

/** `sockslab check` output: lint findings, then each case's predicted outcome against its expectations. */
export function renderCheck(result: CheckResult, options: { readonly verbose?: boolean } = {}): string {
  const out: string[] = [`topology ${result.topology}`];
  if (result.lints.length === 0) out.push('lint: no findings');
  for (const l of result.lints) {
    out.push(`${l.severity}: ${l.host} ${l.file}:${l.line ?? '-'}: ${l.message} [${l.code}]`);
  }
  if (result.cases.length) out.push('', 'predictions:');
  for (const c of result.cases) {
    const p = c.prediction;
    const ok = c.contradictions.length === 0;
    const mark = p.undecided ? '??  ' : ok ? 'ok  ' : 'BAD ';
    out.push(`${mark} ${c.case.name}: ${describeReply(p.reply, c.case.protocol)}, ${p.path.join(' > ')}`);
    for (const u of p.undecided ?? []) out.push(`       cannot predict: ${u}`);
    for (const f of c.contradictions)
      out.push(`       ${f.what}: scenario expects ${f.expected}, configs give ${f.actual}`);
    if (!ok || options.verbose) for (const r of p.reasoning) out.push(`       · ${r}`);
  }
  if (result.cases.length)
    out.push('', ...coverageText(result.coverage, { lines: options.verbose === true }));
  const errors = result.lints.filter((l) => l.severity === 'error').length;
  const warnings = result.lints.length - errors;
  const bad = result.cases.filter((c) => c.contradictions.length > 0).length;
  const unsure = result.cases.filter((c) => c.prediction.undecided).length;
  out.push(
    '',
    `${errors} lint error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}; ` +
      `${result.cases.length - bad - unsure} of ${result.cases.length} cases predicted as expected` +
      (unsure > 0 ? `, ${unsure} not predictable (timing under link faults)` : ''),
    '',
  );
  return out.join('\n');
}

/** check --json: a stable JSON shape for CI. */
export function checkJson(result: CheckResult): string {
  return `${JSON.stringify(
    {
      version: 1,
      topology: result.topology,
      lints: result.lints,
      cases: result.cases.map((c) => ({
        name: c.case.name,
        scenario: c.case.scenario,
        predicted: {
          reply: c.prediction.reply,
          secondReply: c.prediction.secondReply ?? null,
          path: c.prediction.path,
          hops: c.prediction.hops,
          reasoning: c.prediction.reasoning,
          ...(c.prediction.undecided ? { undecided: c.prediction.undecided } : {}),
        },
        contradictions: c.contradictions,
      })),
      coverage: result.coverage,
    },
    null,
    2,
  )}\n`;
}
