import { stringify } from 'yaml';
import type { ProbeRequest } from '../runtime/runtime.ts';
import { Socks4ReplyNames, Socks5ReplyNames } from '../scenario/replies.ts';
import { type RequestClass, requestClasses } from './classes.ts';
import { verdictOf } from './matrix.ts';
import { type Prediction, predictRequest } from './predict.ts';
import type { LabWorld } from './world.ts';

/**
 * `sockslab freeze` (issue 14, item 6): a regression scenario file with one case per request
 * class — its witness request and everything the configs decide for it today (reply, path, the
 * deciding line of every hop, identd attribution per hop, the origin's socks.conf decision).
 * Run in CI, it fails exactly where a later config change alters behaviour, because the classes
 * cover the request space and each is uniform. The text is a pure function of the topology and
 * its configs (class order is the class space's, no dates, no run ids), so the same input gives
 * the same file byte for byte.
 *
 * Cases are grouped by origin and protocol, one `table:` row per class (the witness's user,
 * claim, target and port, then its expectations), with the class in words above each row.
 * Forged-claim classes (a USERID other than the process owner's) are rows with `claim:`.
 */

export interface FrozenCase {
  readonly cls: RequestClass;
  readonly prediction: Prediction;
  /** The case can be written as a scenario case (false: forged claim, kept as a comment). */
  readonly writable: boolean;
}

export interface Frozen {
  readonly topology: string;
  /** The topology file as given on the command line (for the header). */
  readonly source: string;
  readonly cases: readonly FrozenCase[];
  readonly classes: number;
}

export interface FreezeOptions {
  /** false: write forged-claim classes as comments (for a scenario DSL without `claim:`). */
  readonly claims?: boolean;
}

export async function freezeClasses(
  world: LabWorld,
  source: string,
  options: FreezeOptions = {},
): Promise<Frozen> {
  const space = requestClasses(world);
  const cases: FrozenCase[] = [];
  for (const cls of space.classes())
    cases.push({
      cls,
      prediction: await predictRequest(world, cls.witness),
      writable: cls.witness.claim === undefined || options.claims !== false,
    });
  return { topology: world.topology.name, source, cases, classes: space.count };
}

/** A YAML scalar as it must be written (quoted only when plain would read differently). */
const y = (v: string | number | boolean | null) => stringify(v, { lineWidth: 0 }).trimEnd();

function replyName(code: number | null, protocol: ProbeRequest['protocol']): string {
  if (code === null) return 'none';
  const names: Record<string, number> = protocol === 'socks5' ? Socks5ReplyNames : Socks4ReplyNames;
  const name = Object.entries(names).find(
    ([n, c]) => c === code && (protocol !== 'socks5' || (n !== 'granted' && n !== 'rejected')),
  );
  return name ? name[0] : String(code);
}

function flow(entries: readonly (readonly [string, string | number | boolean | null | undefined])[]): string {
  return `{ ${entries
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${y(v as string | number | boolean | null)}`)
    .join(', ')} }`;
}

/** A class in words, for the comment above its row. */
export function classLabel(c: RequestClass): string {
  const live = c.destination.live ? '' : ' (no host there)';
  return `${c.user.label} → ${c.destination.label}${live}, port ${c.port.label}`;
}

function flowItems(
  entries: readonly (readonly [string, string | number | boolean | null | undefined])[],
): string {
  return entries
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${y(v as string | number | boolean | null)}`)
    .join(', ');
}

/** One table row: the witness's request keys, then every expectation; flow style, wrapped. */
function rowLines(f: FrozenCase): string[] {
  const { cls, prediction: p } = f;
  const w = cls.witness;
  const request = flowItems([
    ['user', w.user],
    ['claim', w.claim],
    ['target', w.target.host],
    ['port', w.target.port],
    ['reply', replyName(p.reply, w.protocol)],
  ]);
  const more = [`path: [${p.path.map((h) => y(h)).join(', ')}]`, `reached: ${p.reached}`];
  // A shortcut (loopback, unspecified: d.3.1) decides before socks.conf is read: no line to cite.
  if (p.clientRoute && p.clientRoute.line !== null)
    more.push(
      `clientRoute: ${flow([
        ['action', p.clientRoute.action],
        ['line', p.clientRoute.line],
      ])}`,
    );
  if (p.hops.length === 0) return [`- { ${request}, ${more.join(', ')} }`];
  const rules = p.hops.map((h) =>
    flow([
      ['host', h.host],
      ['file', h.decision.file ?? undefined],
      ['line', h.decision.line ?? undefined],
      ['action', h.decision.action],
      // `rule` is what a cited line means; other reasons (no-match, identd-…) are said.
      ['reason', h.decision.reason === 'rule' ? undefined : h.decision.reason],
    ]),
  );
  const identd = p.hops.map(
    (h) =>
      `${y(h.host)}: ${
        h.identd
          ? flow([
              ['queried', h.identd.queried],
              ['user', h.identd.user],
              ['verdict', h.identd.verdict],
            ])
          : 'none'
      }`,
  );
  return [
    `- { ${request}, ${more.join(', ')},`,
    `    rules: [${rules.join(', ')}],`,
    `    identd: { ${identd.join(', ')} } }`,
  ];
}

/** The frozen scenario file's text (see the module comment). */
export function renderFrozen(frozen: Frozen): string {
  const forged = frozen.cases.filter((c) => !c.writable).length;
  const out = [
    '# yaml-language-server: $schema=scenario.schema.json',
    '#',
    `# Frozen by \`sockslab freeze ${frozen.source}\`: one table row per request class of`,
    `# ${frozen.topology} (${frozen.classes} classes), grouped by origin and protocol. Each row is a class's`,
    '# witness request with every expectation its configs give today; run in CI, a row fails exactly',
    '# where a config change alters behaviour. Regenerate (same input, same file) when a change is meant.',
    ...(forged > 0
      ? [
          '#',
          `# ${forged} forged-claim classes (a USERID other than the process owner's) are kept as comments:`,
          '# this scenario DSL has no `claim:` key to send them with.',
        ]
      : []),
    `topology: ${y(frozen.topology)}`,
    `description: ${y(`frozen behaviour of ${frozen.topology}: one row per request class`)}`,
    'defaults: { timeout: 5s }',
    '',
    'cases:',
  ];
  const groups = new Map<string, FrozenCase[]>();
  for (const f of frozen.cases) {
    const k = `${f.cls.origin} ${f.cls.protocol}`;
    groups.set(k, [...(groups.get(k) ?? []), f]);
  }
  for (const [name, cases] of groups) {
    const first = (cases.find((c) => c.writable) ?? cases[0]!).cls.witness;
    out.push(
      `  - name: ${y(`${name} classes`)}`,
      `    description: ${y(`every request class from ${first.from} over ${first.protocol} (${cases.length})`)}`,
      `    tags: [frozen, ${first.protocol}]`,
      `    from: ${y(first.from)}`,
      `    user: ${y(first.user)}`,
      `    protocol: ${first.protocol}`,
      `    connect: ${y(`${first.target.host}:${first.target.port}`)}`,
      '    table:',
    );
    for (const f of cases) {
      out.push(`      # ${classLabel(f.cls)}: ${verdictOf(f.prediction)}`);
      out.push(...rowLines(f).map((l) => `      ${f.writable ? '' : '# '}${l}`));
    }
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
