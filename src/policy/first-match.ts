/**
 * All three files decide by first match in file order: decideServerAccess (c.12), decideClientRoute
 * (d.4) and chooseInterface (e) compare the request with each line in turn and stop at the first
 * that matches. So one decision's deciding line tells exactly which lines the request was compared
 * against: every line before it, and it. When no line matched, every line was compared.
 * Rule coverage reads decisions through this, so "reached" means what the engine did.
 */
export function linesCompared<T extends { readonly line: number }>(
  lines: readonly T[],
  decided: number | null,
): readonly T[] {
  if (decided === null) return lines;
  const at = lines.findIndex((l) => l.line === decided);
  return at < 0 ? [] : lines.slice(0, at + 1);
}
