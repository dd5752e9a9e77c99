/**
 * DOT to SVG in-process with Graphviz compiled to WebAssembly (no system Graphviz). One
 * instance for the whole process, loaded on first use; layout itself is synchronous, so calls
 * never interleave inside it.
 */
import { Graphviz } from '@hpcc-js/wasm-graphviz';
import { SockslabError } from '../common/errors.ts';
import { fitSvgText } from './svg-text-fit.ts';

let instance: Promise<Graphviz> | undefined;

function graphviz(): Promise<Graphviz> {
  instance ??= Graphviz.load().catch((err: unknown) => {
    instance = undefined;
    throw new SockslabError('E_DIAGRAM_GRAPHVIZ', `could not load Graphviz (WebAssembly): ${String(err)}`, {
      cause: err,
    });
  });
  return instance;
}

/**
 * Renders DOT to a standalone SVG document whose texts keep the widths Graphviz gave them in
 * any viewer (see svg-text-fit.ts); a DOT error becomes `E_DIAGRAM_RENDER`. Layout is
 * deterministic, so the SVG and the JSON layout that carries the text widths agree.
 */
export async function renderSvg(dot: string): Promise<string> {
  const gv = await graphviz();
  try {
    return fitSvgText(gv.dot(dot), gv.layout(dot, 'json', 'dot'));
  } catch (err) {
    throw new SockslabError('E_DIAGRAM_RENDER', `Graphviz could not lay out the diagram: ${String(err)}`, {
      cause: err,
    });
  }
}

/** The `<svg>` element alone, without XML prolog and doctype, for embedding in HTML. */
export function inlineSvg(svg: string): string {
  const start = svg.indexOf('<svg');
  return start < 0 ? svg : svg.slice(start);
}
