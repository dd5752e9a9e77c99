/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * What a reader of index.html sees, measured in the browser (playwright-core): the cases and
 * their diagrams, texts that run out of the box drawn around them, edge labels of case maps
 * that cover each other, and how big the topology's text is on screen.
 */
import type { Page } from 'playwright-core';

export interface CaseView {
  readonly id: string;
  readonly failed: boolean;
  readonly open: boolean;
  readonly maps: number;
  readonly sequences: number;
}

export interface Overflow {
  readonly figure: string;
  readonly text: string;
  readonly box: string;
  readonly by: number;
}

export interface PageFacts {
  readonly cases: CaseView[];
  readonly figures: number;
  readonly overflows: Overflow[];
  readonly overlaps: { readonly figure: string; readonly a: string; readonly b: string }[];
  readonly edgeLabels: number;
  readonly topology?: {
    readonly minFontPx: number;
    readonly svgWidth: number;
    readonly boxWidth: number;
    readonly scrollWidth: number;
    readonly overflowX: string;
  };
}

/**
 * Measures the page in the browser. Runs in Chromium: it opens every case (a closed <details>
 * has no layout) after noting which were open, then compares text boxes with the boxes drawn
 * around them.
 */
function measure(): PageFacts {
  type Rect = { left: number; top: number; right: number; bottom: number };
  const rect = (el: Element): Rect => {
    const r = el.getBoundingClientRect();
    return { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
  };
  const inside = (a: Rect, b: Rect, slack: number) =>
    a.left >= b.left - slack &&
    a.right <= b.right + slack &&
    a.top >= b.top - slack &&
    a.bottom <= b.bottom + slack;
  const area = (r: Rect) => Math.max(0, r.right - r.left) * Math.max(0, r.bottom - r.top);
  const show = (r: Rect) =>
    `${r.left.toFixed(1)},${r.top.toFixed(1)}–${r.right.toFixed(1)},${r.bottom.toFixed(1)}`;

  const details = [...document.querySelectorAll<HTMLDetailsElement>('details[id^="case-"]')];
  const cases = details.map((d) => ({
    id: d.id,
    failed: d.querySelector('summary .fail') !== null,
    open: d.open,
    maps: d.querySelectorAll('figure.diagram.map svg').length,
    sequences: d.querySelectorAll('figure.diagram.sequence svg').length,
  }));
  for (const d of details) d.open = true;

  const figures = [...document.querySelectorAll<HTMLElement>('figure.diagram')];
  const overflows: Overflow[] = [];
  const overlaps: PageFacts['overlaps'] = [];
  let edgeLabels = 0;
  figures.forEach((figure, f) => {
    const svg = figure.querySelector('svg');
    if (svg === null) return;
    const name = `${figure.closest('details')?.id ?? 'page'} ${figure.className} #${f}`;
    const viewport = rect(svg);
    for (const text of svg.querySelectorAll('text')) {
      if ((text.textContent ?? '').trim() === '') continue;
      const box = rect(text);
      // The box drawn around this text: the smallest shape of its node, cluster or graph (a
      // table cell, a note, a host) that holds the text's centre; an edge label has none.
      const group = text.closest('g.node, g.cluster, g.edge, g.graph');
      const cx = (box.left + box.right) / 2;
      const cy = (box.top + box.bottom) / 2;
      let around: { r: Rect; what: string } | undefined;
      if (group !== null && !group.classList.contains('edge')) {
        for (const shape of group.querySelectorAll(
          ':scope > polygon, :scope > path, :scope > ellipse, :scope > g > polygon, :scope > g > path',
        )) {
          const r = rect(shape);
          if (r.right - r.left < 2 || r.bottom - r.top < 2) continue;
          if (cx < r.left || cx > r.right || cy < r.top || cy > r.bottom) continue;
          if (around === undefined || area(r) < area(around.r))
            around = { r, what: `${group.getAttribute('class')} ${shape.tagName}` };
        }
      }
      const limit = around ?? { r: viewport, what: 'svg viewport' };
      if (!inside(box, limit.r, 0.75)) {
        const by = Math.max(
          limit.r.left - box.left,
          box.right - limit.r.right,
          limit.r.top - box.top,
          box.bottom - limit.r.bottom,
        );
        overflows.push({
          figure: name,
          text: `${text.textContent} @ ${show(box)}`,
          box: `${limit.what} ${show(limit.r)}`,
          by,
        });
      }
    }
    if (figure.classList.contains('map')) {
      // One box per edge label (its texts together); no two may cover each other.
      const labels = [...svg.querySelectorAll('g.edge')]
        .map((edge) => {
          const texts = [...edge.querySelectorAll('text')].map(rect);
          if (texts.length === 0) return undefined;
          return {
            title: edge.querySelector('title')?.textContent ?? '',
            r: {
              left: Math.min(...texts.map((t) => t.left)),
              top: Math.min(...texts.map((t) => t.top)),
              right: Math.max(...texts.map((t) => t.right)),
              bottom: Math.max(...texts.map((t) => t.bottom)),
            },
          };
        })
        .filter((l) => l !== undefined);
      edgeLabels += labels.length;
      for (let i = 0; i < labels.length; i++)
        for (let j = i + 1; j < labels.length; j++) {
          const a = labels[i]!;
          const b = labels[j]!;
          const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
          const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
          if (w > 0.5 && h > 0.5)
            overlaps.push({ figure: name, a: `${a.title} ${show(a.r)}`, b: `${b.title} ${show(b.r)}` });
        }
    }
  });

  const topologyFigure = document.querySelector<HTMLElement>('figure.diagram.topology');
  const topologySvg = topologyFigure?.querySelector('svg');
  let topology: PageFacts['topology'];
  if (topologyFigure && topologySvg) {
    const sizes = [...topologySvg.querySelectorAll('text')].map((text) => {
      const ctm = text.getScreenCTM();
      const size = Number.parseFloat(text.getAttribute('font-size') ?? '14');
      return ctm === null ? 0 : size * Math.hypot(ctm.a, ctm.b);
    });
    topology = {
      minFontPx: Math.min(...sizes),
      svgWidth: topologySvg.getBoundingClientRect().width,
      boxWidth: topologyFigure.clientWidth,
      scrollWidth: topologyFigure.scrollWidth,
      overflowX: getComputedStyle(topologyFigure).overflowX,
    };
  }
  return {
    cases,
    figures: figures.length,
    overflows,
    overlaps,
    edgeLabels,
    ...(topology ? { topology } : {}),
  };
}

/**
 * `measure` as the page runs it. tsx compiles with esbuild's keepNames, which wraps named
 * functions in a `__name(...)` helper the page does not have; the prelude supplies it.
 */
export function measureInPage(page: Page): Promise<PageFacts> {
  return page.evaluate(`(() => { const __name = (f) => f; return (${measure.toString()})(); })()`);
}
