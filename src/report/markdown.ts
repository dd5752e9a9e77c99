import { traceLines } from '../scenario/trace-text.ts';
import { coverageMarkdown } from './coverage-text.ts';
import type { DiagramHooks } from './diagrams.ts';
import { type AttributionRow, type CaseReport, type RunReport, requestUser } from './model.ts';

/** summary.md: results table, disagreements with the prediction, attribution matrix, failures. */

const cell = (text: string | number | null) =>
  String(text ?? '—')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, '<br>');

export function predictionCell(c: CaseReport): string {
  if (!c.prediction) return 'n/a';
  return c.prediction.agreed ? 'agrees' : 'DISAGREES';
}

function table(head: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

export function attributionTable(rows: readonly AttributionRow[]): string[] {
  return table(
    [
      'request',
      'hop',
      'client host',
      'identd asked',
      'answer',
      'identd user',
      'rule saw user',
      'verdict',
      'decision',
    ],
    rows.map((r) => [
      r.case,
      r.hop,
      r.from,
      r.queried,
      r.answer,
      r.identdUser,
      r.ruleUser || '""',
      r.verdict,
      r.decision,
    ]),
  );
}

export function renderMarkdown(report: RunReport, hooks: DiagramHooks = {}): string {
  const t = report.run.totals;
  const out: string[] = [
    `# sockslab run — ${report.topology.name}`,
    '',
    `Runtime **${report.run.runtime}**, run \`${report.run.id}\`, started ${report.run.startedAt}, ${report.run.durationMs} ms.`,
    `Topology \`${report.topology.file}\`; scenarios: ${report.run.scenarios.map((s) => `\`${s}\``).join(', ') || '(none)'}.`,
    '',
    `**${t.passed} passed, ${t.failed} failed** of ${t.cases} cases. Prediction: ${report.run.predictions.agreed} agreed, ` +
      `${report.run.predictions.disagreed} disagreed, ${report.run.predictions.none} not predicted.`,
    '',
    '## Results',
    '',
    ...table(
      ['verdict', 'case', 'scenario', 'request', 'reply', 'path', 'prediction'],
      report.cases.map((c) => [
        c.verdict === 'pass' ? 'pass' : '**FAIL**',
        c.name,
        c.scenario,
        `${requestUser(c)}@${c.request.from} ${c.request.command} ${c.request.target} (${c.request.protocol})`,
        c.observed.replyName,
        c.observed.path.join(' → '),
        predictionCell(c),
      ]),
    ),
    '',
  ];
  const failed = report.cases.filter((c) => c.verdict === 'fail');
  if (failed.length) {
    out.push('## Failures', '');
    for (const c of failed) {
      out.push(`### ${c.name}`, '', `\`${c.source.file}:${c.source.line}\``, '');
      out.push(
        ...table(
          ['check', 'expected', 'actual'],
          c.failures.map((f) => [f.what, f.expected, f.actual]),
        ),
        '',
      );
      out.push('```text', ...traceLines(c.trace), '```', '');
    }
  }
  const disagreements = report.cases.filter((c) => c.prediction && !c.prediction.agreed);
  if (disagreements.length) {
    out.push(
      '## Observation vs prediction',
      '',
      'Each difference is a finding about the network, not about the code.',
      '',
    );
    for (const c of disagreements) {
      out.push(`- **${c.name}**: ${c.prediction!.differences.join('; ')}`);
    }
    out.push('');
  }
  if (report.diagramFailures.length) {
    out.push(
      '## Diagrams not drawn',
      '',
      ...table(
        ['diagram', 'error'],
        report.diagramFailures.map((f) => [f.diagram, f.error]),
      ),
      '',
    );
  }
  out.push('## identd attribution', '', ...attributionTable(report.attribution), '');
  if (report.coverage) out.push(...coverageMarkdown(report.coverage));
  const mermaid = hooks.caseMermaid;
  out.push('## Traces', '');
  for (const c of report.cases) {
    out.push(`### ${c.name}`, '', '```text', ...traceLines(c.trace), '```', '');
    const m = mermaid?.(c);
    if (m) out.push('```mermaid', m.trimEnd(), '```', '');
  }
  return out.join('\n');
}
