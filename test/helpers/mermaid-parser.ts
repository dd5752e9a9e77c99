/**
 * Mermaid's own parser, for tests: the `mermaid` package parses in Node once `window` and
 * `document` exist (jsdom provides them). Returns what the diagram holds after parsing — node
 * and edge labels, subgraph titles, participants and messages — with Mermaid's entity codes
 * decoded, so a test can check that a label came out as the text that went in.
 */
import { JSDOM } from 'jsdom';

export interface ParsedFlowchart {
  readonly kind: 'flowchart';
  readonly nodes: ReadonlyMap<string, string>;
  readonly edges: readonly { readonly from: string; readonly to: string; readonly text: string }[];
  readonly subgraphs: readonly {
    readonly id: string;
    readonly title: string;
    readonly members: readonly string[];
  }[];
}

export interface ParsedSequence {
  readonly kind: 'sequence';
  readonly title: string;
  readonly participants: ReadonlyMap<string, string>;
  /** Messages, notes and band starts/ends, in order; `type` is Mermaid's line type number. */
  readonly lines: readonly {
    readonly from: string;
    readonly to: string;
    readonly type: number;
    readonly text: string;
  }[];
}

export type ParsedMermaid = ParsedFlowchart | ParsedSequence;

interface MermaidApi {
  parse(text: string): Promise<unknown>;
  mermaidAPI: {
    getDiagramFromText(text: string): Promise<{ type: string; db: Record<string, () => unknown> }>;
  };
}

let loaded: Promise<MermaidApi> | undefined;

async function mermaid(): Promise<MermaidApi> {
  loaded ??= (async () => {
    const dom = new JSDOM('<!DOCTYPE html><html><body></body></html>');
    const g = globalThis as Record<string, unknown>;
    g.window ??= dom.window;
    g.document ??= dom.window.document;
    const m = (await import('mermaid')).default as unknown as MermaidApi;
    // The first parse registers Mermaid's diagram types.
    await m.parse('flowchart LR\n  a');
    return m;
  })();
  return loaded;
}

/**
 * Mermaid keeps `#code;` entities as private markers until it renders; decode them (numeric
 * ones are all the diagrams write) and Mermaid's line breaks into `\n`. Its sanitizer (DOMPurify,
 * here over jsdom) hands a no-break space back as `&nbsp;`, which a browser reads as the same
 * character: decode that too (a literal `&` in a name reaches the parser as `#38;`, never as `&`).
 */
export function decodeMermaidText(text: string): string {
  // Line breaks first: an escaped `<br/>` in a name must stay text.
  return text
    .replace(/<br\s*\/?>/g, '\n')
    .replace(/&nbsp;/g, '\u00a0')
    .replace(/ﬂ°°(\d+)¶ß/g, (_, code: string) => String.fromCodePoint(Number(code)));
}

/** Parses with Mermaid; throws Mermaid's own error (with line and expected tokens) if it cannot. */
export async function parseMermaid(text: string): Promise<ParsedMermaid> {
  const m = await mermaid();
  // getDiagramFromText runs the same parser as mermaid.parse (and throws its errors), keeping the result.
  const diagram = await m.mermaidAPI.getDiagramFromText(text);
  const db = diagram.db;
  if (diagram.type === 'sequence') {
    const actors = db.getActors!() as Map<string, { description: string }>;
    const messages = db.getMessages!() as { from?: string; to?: string; type: number; message: unknown }[];
    return {
      kind: 'sequence',
      title: decodeMermaidText(String(db.getDiagramTitle!() ?? '')),
      participants: new Map([...actors].map(([id, a]) => [id, decodeMermaidText(a.description)])),
      lines: messages.map((msg) => ({
        from: msg.from ?? '',
        to: msg.to ?? '',
        type: msg.type,
        text: typeof msg.message === 'string' ? decodeMermaidText(msg.message) : '',
      })),
    };
  }
  if (diagram.type.startsWith('flowchart')) {
    const vertices = db.getVertices!() as Map<string, { text?: string }>;
    const edges = db.getEdges!() as { start: string; end: string; text?: string }[];
    const subgraphs = db.getSubGraphs!() as { id: string; title: string; nodes: string[] }[];
    return {
      kind: 'flowchart',
      nodes: new Map([...vertices].map(([id, v]) => [id, decodeMermaidText(v.text ?? '')])),
      edges: edges.map((e) => ({ from: e.start, to: e.end, text: decodeMermaidText(e.text ?? '') })),
      subgraphs: subgraphs.map((s) => ({
        id: s.id,
        title: decodeMermaidText(s.title),
        members: [...s.nodes],
      })),
    };
  }
  throw new Error(`unexpected Mermaid diagram type ${diagram.type}`);
}
