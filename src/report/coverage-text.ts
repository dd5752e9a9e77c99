import type { FileCoverage, RuleCoverage } from '../analysis/rule-coverage.ts';

/** Rule coverage as plain text (check's terminal output) and Markdown (summary.md). Pure. */

/** `socks.conf (probe)` for the file the host's own programs use, else the file name. */
export function fileLabel(f: Pick<FileCoverage, 'file' | 'usedBy'>): string {
  return f.usedBy === 'probe' ? `${f.file} (probe)` : f.file;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function coverageHeadline(c: RuleCoverage): string {
  const t = c.totals;
  return (
    `rule coverage (${c.basis}, ${plural(c.cases, 'case')}): ${t.reached} of ${plural(t.rules, 'rule line')} reached, ` +
    `${t.decided} decided, ${t.never} never reached`
  );
}

function pad(rows: readonly (readonly string[])[], right: ReadonlySet<number>): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * Terminal text: a row per file and a total per host, the lines no case reached with
 * file:line, and decisions not counted; with `lines`, every rule line with its two counts.
 */
export function coverageText(c: RuleCoverage, options: { readonly lines?: boolean } = {}): string[] {
  const out = [coverageHeadline(c)];
  if (c.hosts.length === 0) return [...out, '  (no configs)'];
  const rows: string[][] = [['host', 'file', 'rule lines', 'reached', 'decided', 'never']];
  for (const h of c.hosts) {
    for (const f of h.files) {
      const t = f.totals;
      rows.push([
        h.host,
        fileLabel(f),
        String(t.rules),
        String(t.reached),
        String(t.decided),
        String(t.never),
      ]);
    }
    const t = h.totals;
    rows.push([
      '',
      `${h.host} total`,
      String(t.rules),
      String(t.reached),
      String(t.decided),
      String(t.never),
    ]);
  }
  out.push(...pad(rows, new Set([2, 3, 4, 5])).map((l) => `  ${l}`));
  if (options.lines) {
    out.push('  per line (cases reached / decided):');
    for (const h of c.hosts)
      for (const f of h.files)
        for (const l of f.lines.filter((x) => x.rule))
          out.push(
            `    ${h.host} ${fileLabel(f)}:${l.line}  ${l.reached.length} / ${l.decided.length}  ${l.text.trim()}`,
          );
  }
  if (c.never.length) {
    out.push('  never reached:');
    for (const n of c.never) out.push(`    ${n.host} ${fileLabel(n)}:${n.line}  ${n.text.trim()}`);
  }
  for (const u of c.uncounted)
    out.push(
      `  not counted: "${u.case}" at ${u.host} ${u.file}${u.line !== null ? `:${u.line}` : ''} (decided under a text a step had replaced)`,
    );
  return out;
}

const cell = (text: string | number) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** summary.md section: totals per host and file, never-reached lines, and each file line by line. */
export function coverageMarkdown(c: RuleCoverage): string[] {
  const out = ['## Rule coverage', '', `${coverageHeadline(c)}.`, ''];
  out.push('| host | file | rule lines | reached | decided | never reached |', '|---|---|---|---|---|---|');
  for (const h of c.hosts) {
    for (const f of h.files) {
      const t = f.totals;
      out.push(`| ${h.host} | ${fileLabel(f)} | ${t.rules} | ${t.reached} | ${t.decided} | ${t.never} |`);
    }
    const t = h.totals;
    out.push(`| **${h.host}** | total | ${t.rules} | ${t.reached} | ${t.decided} | ${t.never} |`);
  }
  out.push('');
  if (c.never.length) {
    out.push('Never reached:', '');
    for (const n of c.never) out.push(`- \`${n.host} ${fileLabel(n)}:${n.line}\` \`${n.text.trim()}\``);
    out.push('');
  }
  if (c.uncounted.length) {
    out.push('Not counted (decided under a text a scenario step had replaced):', '');
    for (const u of c.uncounted)
      out.push(`- ${cell(u.case)}: ${u.host} ${u.file}${u.line !== null ? `:${u.line}` : ''}`);
    out.push('');
  }
  for (const h of c.hosts) {
    for (const f of h.files) {
      out.push(`### ${h.host} ${fileLabel(f)}`, '', `\`${f.origin}\``, '');
      out.push('| line | reached | decided | text | decided cases |', '|---|---|---|---|---|');
      for (const l of f.lines) {
        if (!l.rule) {
          if (l.text.trim() !== '') out.push(`| ${l.line} | | | ${cell(l.text)} | |`);
          continue;
        }
        const never = l.reached.length === 0;
        out.push(
          `| ${l.line} | ${never ? '**0**' : l.reached.length} | ${l.decided.length} | \`${cell(l.text)}\`${never ? ' **never reached**' : ''} | ${cell(l.decided.join('; '))} |`,
        );
      }
      out.push('');
    }
  }
  return out;
}
