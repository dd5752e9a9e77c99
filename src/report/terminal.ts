import { coverageText } from './coverage-text.ts';
import { failureText } from './junit.ts';
import { predictionCell } from './markdown.ts';
import type { RunReport } from './model.ts';

/** The final pass/fail table printed by `sockslab run` (plain text, aligned columns). */
export function renderResultTable(report: RunReport): string {
  const rows = report.cases.map((c) => [
    c.verdict === 'pass' ? 'PASS' : 'FAIL',
    c.name,
    c.observed.replyName,
    c.observed.path.join(' > '),
    predictionCell(c),
  ]);
  const head = ['', 'case', 'reply', 'path', 'prediction'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) =>
    r
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const t = report.run.totals;
  return [
    line(head),
    ...rows.map(line),
    '',
    `${t.passed} passed, ${t.failed} failed (${t.cases} cases, runtime ${report.run.runtime}, ${report.run.durationMs} ms)`,
    '',
  ].join('\n');
}

/** Details of every failed case: expected vs actual and the trace. */
export function renderFailures(report: RunReport): string {
  return report.cases
    .filter((c) => c.verdict === 'fail')
    .map((c) => `FAIL ${c.name} (${c.source.file}:${c.source.line})\n${indent(failureText(c))}\n`)
    .join('\n');
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n');

/** Cases whose observation differed from the static prediction: findings about the network. */
export function renderFindings(report: RunReport): string {
  const lines = report.cases
    .filter((c) => c.prediction && !c.prediction.agreed)
    .map((c) => `FINDING ${c.name}: ${c.prediction!.differences.join('; ')}`);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** The run's rule coverage: totals per host and file, and the lines no case reached. */
export function renderCoverage(report: RunReport): string {
  return report.coverage ? `${coverageText(report.coverage).join('\n')}\n` : '';
}
