/**
 * Text in a Graphviz SVG drawn exactly as wide as Graphviz made room for it.
 *
 * Graphviz sizes every box from its own font metrics (Helvetica is estimated with Arial's
 * widths), but the SVG names only a font family, and a browser draws it with whatever font it
 * has: DejaVu Sans, the usual stand-in on Linux, is about a tenth wider, so long names and
 * legend labels ran over their boxes. The layout's JSON form carries the width Graphviz assumed
 * for every piece of text; written into the SVG as `textLength`, it makes any viewer fit the
 * text into that width, whatever font it picks.
 */

/** One piece of text as laid out: where it is anchored (Graphviz's y grows upwards) and its width. */
interface LaidOutText {
  readonly x: number;
  readonly y: number;
  readonly width: number;
}

const at = (x: number, y: number) => `${x.toFixed(1)}|${y.toFixed(1)}`;

/** Every text-drawing operation (`op: "T"`) anywhere in Graphviz's `json` output. */
function laidOutTexts(layout: unknown): LaidOutText[] {
  const found: LaidOutText[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const op = value as { op?: unknown; pt?: unknown; width?: unknown };
    if (op.op === 'T' && Array.isArray(op.pt) && typeof op.width === 'number') {
      const [x, y] = op.pt as unknown[];
      if (typeof x === 'number' && typeof y === 'number' && op.width > 0)
        found.push({ x, y, width: op.width });
      return;
    }
    for (const child of Object.values(value)) walk(child);
  };
  walk(layout);
  return found;
}

/**
 * The SVG with `textLength` (and `lengthAdjust`) on every `<text>` whose anchor matches a text
 * of the layout; texts are matched by position, in order when two share one.
 */
export function fitSvgText(svg: string, layoutJson: string): string {
  const widths = new Map<string, number[]>();
  for (const text of laidOutTexts(JSON.parse(layoutJson))) {
    const key = at(text.x, text.y);
    widths.set(key, [...(widths.get(key) ?? []), text.width]);
  }
  return svg.replace(/<text\b([^>]*)>/g, (whole, attributes: string) => {
    const x = /\sx="(-?[\d.]+)"/.exec(attributes)?.[1];
    const y = /\sy="(-?[\d.]+)"/.exec(attributes)?.[1];
    if (x === undefined || y === undefined || /\stextLength=/.test(attributes)) return whole;
    // The SVG's y axis points down: Graphviz writes y as the negated layout coordinate.
    const width = widths.get(at(Number(x), -Number(y)))?.shift();
    if (width === undefined) return whole;
    return `<text${attributes} textLength="${width.toFixed(2)}" lengthAdjust="spacingAndGlyphs">`;
  });
}
