import { InputError } from '../common/errors.ts';

/** Stable codes of topology problems; tests and callers branch on these, never on text. */
export const TopologyErrorCode = {
  /** the file is not valid YAML */
  Yaml: 'E_TOPO_YAML',
  /** the file (or a file it references) cannot be read */
  File: 'E_TOPO_FILE',
  /** a key the schema does not know */
  UnknownKey: 'E_TOPO_UNKNOWN_KEY',
  /** a value of the wrong type, a missing field, or a value outside the allowed set */
  Value: 'E_TOPO_VALUE',
  /** a subnet that is not an IPv4 or IPv6 CIDR block (malformed, no prefix, host bits set, loopback) */
  Subnet: 'E_TOPO_SUBNET',
  /** an address that is malformed, outside its subnet, or not free */
  Address: 'E_TOPO_ADDRESS',
  /** the same name or address twice */
  Duplicate: 'E_TOPO_DUPLICATE',
  /** a name (network, user, host) that does not exist */
  Reference: 'E_TOPO_REFERENCE',
  /** a role and its fields do not fit together */
  Role: 'E_TOPO_ROLE',
  /** a config text does not parse */
  Config: 'E_TOPO_CONFIG',
  /** a socks.conf server entry that is not a host running a server */
  Upstream: 'E_TOPO_UPSTREAM',
} as const;
export type TopologyErrorCode = (typeof TopologyErrorCode)[keyof typeof TopologyErrorCode];

export type YamlPath = readonly (string | number)[];

export interface TopologyIssue {
  readonly code: TopologyErrorCode;
  /** The YAML file as the user named it. */
  readonly file: string;
  readonly path: YamlPath;
  /** 1-based; 0 when unknown. */
  readonly line: number;
  readonly column: number;
  readonly message: string;
  /** The source line and a caret under the column (empty when unknown). */
  readonly excerpt: readonly string[];
}

/** `hosts.B.server["sockd.conf"]` */
export function formatPath(path: YamlPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === '' ? '(top level)' : out;
}

export function formatIssue(issue: TopologyIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  const head = `${where}: ${formatPath(issue.path)}: ${issue.message}`;
  return issue.excerpt.length === 0 ? head : `${head}\n${issue.excerpt.join('\n')}`;
}

/** Everything wrong with one topology file, all at once, compiler-style. */
export class TopologyError extends InputError {
  readonly file: string;
  readonly issues: readonly TopologyIssue[];
  constructor(file: string, issues: readonly TopologyIssue[]) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(
      issues[0]?.code ?? TopologyErrorCode.Value,
      `${file}: ${count}\n${issues.map(formatIssue).join('\n')}`,
    );
    this.file = file;
    this.issues = issues;
  }
}

/** Closest candidate within a small edit distance, for "did you mean" hints. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  return bestDistance <= limit ? best : undefined;
}

/** Levenshtein distance where swapping two neighbours counts as one edit (`lna` → `lan`). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}
