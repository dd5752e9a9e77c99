/**
 * A small, strict XML reader for tests: elements, attributes, character data, the five
 * predefined entities and numeric references, comments and the XML prolog. Enough to check the
 * structure of generated reports without a dependency; anything malformed throws.
 */
export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  readonly text: string;
}

const Entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);|&/g, (whole, ref: string | undefined) => {
    if (!ref) throw new Error('bare & in XML text');
    if (ref.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(Number(ref.slice(1)));
    const e = Entities[ref];
    if (e === undefined) throw new Error(`unknown entity ${whole}`);
    return e;
  });
}

export function parseXml(source: string): XmlElement {
  let i = 0;
  const skipMisc = () => {
    for (;;) {
      const ws = /^\s*/.exec(source.slice(i))![0].length;
      i += ws;
      if (source.startsWith('<?', i)) i = source.indexOf('?>', i) + 2;
      else if (source.startsWith('<!--', i)) i = source.indexOf('-->', i) + 3;
      else return;
    }
  };
  const element = (): XmlElement => {
    const open = /^<([A-Za-z_][\w.-]*)/.exec(source.slice(i));
    if (!open) throw new Error(`expected an element at ${i}: ${source.slice(i, i + 30)}`);
    const name = open[1]!;
    i += open[0].length;
    const attributes: Record<string, string> = {};
    for (;;) {
      const attr = /^\s+([A-Za-z_][\w.:-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(source.slice(i));
      if (!attr) break;
      if (attr[1]! in attributes) throw new Error(`duplicate attribute ${attr[1]} on <${name}>`);
      attributes[attr[1]!] = decode(attr[3] ?? attr[4] ?? '');
      i += attr[0].length;
    }
    const end = /^\s*(\/?)>/.exec(source.slice(i));
    if (!end) throw new Error(`bad tag <${name}> at ${i}: ${source.slice(i, i + 30)}`);
    i += end[0].length;
    if (end[1]) return { name, attributes, children: [], text: '' };
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      const lt = source.indexOf('<', i);
      if (lt === -1) throw new Error(`unclosed <${name}>`);
      text += decode(source.slice(i, lt));
      i = lt;
      if (source.startsWith('</', i)) {
        const close = /^<\/([A-Za-z_][\w.-]*)\s*>/.exec(source.slice(i));
        if (!close || close[1] !== name) throw new Error(`mismatched close of <${name}> at ${i}`);
        i += close[0].length;
        return { name, attributes, children, text };
      }
      if (source.startsWith('<!--', i)) {
        i = source.indexOf('-->', i) + 3;
        continue;
      }
      children.push(element());
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i !== source.length) throw new Error(`content after the root element at ${i}`);
  return root;
}
