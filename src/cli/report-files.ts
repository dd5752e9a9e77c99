import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunDiagrams } from '../diagram/run-diagrams.ts';
import type { DiagramHooks } from '../report/diagrams.ts';
import { anchor, renderHtml } from '../report/html.ts';
import { renderJson } from '../report/json.ts';
import { renderJunit } from '../report/junit.ts';
import { renderMarkdown } from '../report/markdown.ts';
import type { RunReport } from '../report/model.ts';
import type { Trace } from '../scenario/trace.ts';
import type { ResolvedTopology } from '../topology/model.ts';

/**
 * The files of a run's report directory — report.json, junit.xml, summary.md, index.html,
 * topology.svg and cases/NN-<case>.svg and .sequence.svg — written the same way by `run` and `report merge`, so a
 * merged report is a single run's file for file.
 */

/** Every diagram of the run, each on its own: a failure is reported, never fatal to the others. */
export async function drawDiagrams(
  topology: ResolvedTopology,
  cases: readonly { readonly name: string; readonly trace: Trace }[],
): Promise<RunDiagrams> {
  try {
    const d = await import('../diagram/run-diagrams.ts');
    return await d.runDiagrams(topology, cases);
  } catch (err) {
    // Only loading the diagram module itself (Graphviz's WebAssembly) can end up here.
    return {
      topologySvg: undefined,
      caseSvgs: new Map(),
      sequenceSvgs: new Map(),
      mermaid: new Map(),
      failures: [{ diagram: 'all diagrams', error: (err as Error).message }],
    };
  }
}

export async function writeReportFiles(dir: string, report: RunReport, art: RunDiagrams): Promise<void> {
  await mkdir(join(dir, 'cases'), { recursive: true });
  const hooks: DiagramHooks = {
    ...(art.topologySvg ? { topologySvg: art.topologySvg } : {}),
    caseSvg: (c) => art.caseSvgs.get(c.name),
    caseSequenceSvg: (c) => art.sequenceSvgs.get(c.name),
    caseMermaid: (c) => art.mermaid.get(c.name),
  };
  await writeFile(join(dir, 'report.json'), renderJson(report));
  await writeFile(join(dir, 'junit.xml'), renderJunit(report));
  await writeFile(join(dir, 'summary.md'), renderMarkdown(report, hooks));
  await writeFile(join(dir, 'index.html'), renderHtml(report, hooks));
  if (art.topologySvg) await writeFile(join(dir, 'topology.svg'), art.topologySvg);
  let n = 0;
  for (const c of report.cases) {
    const svg = art.caseSvgs.get(c.name);
    const sequence = art.sequenceSvgs.get(c.name);
    n++;
    const stem = join(dir, 'cases', `${String(n).padStart(2, '0')}-${anchor(c.name)}`);
    if (svg) await writeFile(`${stem}.svg`, svg);
    if (sequence) await writeFile(`${stem}.sequence.svg`, sequence);
  }
}

/** Points `<reportDir>/latest` at `runDir` atomically: a new link under a temporary name, renamed over the old. */
export async function linkLatest(reportDir: string, runDir: string): Promise<void> {
  const latest = join(reportDir, 'latest');
  const next = `${latest}.${runDir}`;
  await symlink(runDir, next);
  try {
    await rename(next, latest);
  } catch (err) {
    await rm(next, { force: true });
    throw err;
  }
}
