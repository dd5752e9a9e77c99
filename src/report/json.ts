import type { RunReport } from './model.ts';

/** report.json: the report model as stable, indented JSON (key order is the model's). */
export function renderJson(report: RunReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
