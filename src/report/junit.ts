import { traceLines } from '../scenario/trace-text.ts';
import type { CaseReport, RunReport } from './model.ts';
import { xmlEscape as x } from './xml.ts';

/**
 * junit.xml: one testsuite per scenario file, one testcase per case, a failure element per
 * failed case with expected vs actual and the trace. Follows the common (Ant) JUnit schema:
 * testsuite carries name, timestamp, hostname, tests, failures, errors, skipped, time, id, package,
 * and properties, system-out and system-err are always present.
 */

const seconds = (ms: number) => (Math.max(0, ms) / 1000).toFixed(3);
/** xs:dateTime without a zone, as the Ant schema's pattern wants. */
const timestamp = (iso: string) => iso.replace(/\.\d+Z$|Z$/, '');

export function failureText(c: CaseReport): string {
  const lines: string[] = [];
  for (const f of c.failures) {
    lines.push(
      `${f.what}:`,
      `  expected: ${f.expected.replace(/\n/g, '\n            ')}`,
      `  actual:   ${f.actual.replace(/\n/g, '\n            ')}`,
    );
  }
  lines.push('', 'trace:', ...traceLines(c.trace));
  return lines.join('\n');
}

export function failureMessage(c: CaseReport): string {
  const f = c.failures[0];
  if (!f) return 'failed';
  const more = c.failures.length > 1 ? ` (+${c.failures.length - 1} more)` : '';
  return `${f.what}: expected ${f.expected.split('\n')[0]}, got ${f.actual.split('\n')[0]}${more}`;
}

export function renderJunit(report: RunReport): string {
  const suites = new Map<string, CaseReport[]>();
  for (const c of report.cases) {
    const list = suites.get(c.scenario) ?? [];
    list.push(c);
    suites.set(c.scenario, list);
  }
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const total = report.run.totals;
  out.push(
    `<testsuites name="sockslab ${x(report.topology.name)}" tests="${total.cases}" failures="${total.failed}" errors="0" time="${seconds(report.run.durationMs)}">`,
  );
  let id = 0;
  for (const [scenario, cases] of suites) {
    const failed = cases.filter((c) => c.verdict === 'fail').length;
    const time = cases.reduce((s, c) => s + c.durationMs, 0);
    const className = scenario.replace(/^.*\//, '').replace(/\.ya?ml$/, '');
    out.push(
      `  <testsuite name="${x(scenario)}" package="sockslab.${x(report.topology.name)}" id="${id++}" timestamp="${timestamp(report.run.startedAt)}" hostname="${x(report.run.runtime)}" tests="${cases.length}" failures="${failed}" errors="0" skipped="0" time="${seconds(time)}">`,
      '    <properties>',
      `      <property name="topology" value="${x(report.topology.file)}"/>`,
      `      <property name="runtime" value="${x(report.run.runtime)}"/>`,
      `      <property name="run" value="${x(report.run.id)}"/>`,
      '    </properties>',
    );
    for (const c of cases) {
      const open = `    <testcase name="${x(c.name)}" classname="${x(className)}" time="${seconds(c.durationMs)}"`;
      // A disagreement with the static prediction is a finding, not a failure: it goes to system-out.
      const finding =
        c.prediction && !c.prediction.agreed
          ? `      <system-out>${x(`observation differs from the prediction: ${c.prediction.differences.join('; ')}`)}</system-out>`
          : undefined;
      if (c.verdict === 'pass' && !finding) {
        out.push(`${open}/>`);
        continue;
      }
      out.push(`${open}>`);
      if (c.verdict === 'fail') {
        out.push(
          `      <failure message="${x(failureMessage(c))}" type="${x(c.failures[0]?.what ?? 'expectation')}">${x(failureText(c))}</failure>`,
        );
      }
      if (finding) out.push(finding);
      out.push('    </testcase>');
    }
    out.push('    <system-out/>', '    <system-err/>', '  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}
