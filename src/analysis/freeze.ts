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
 * Forged-claim classes (a USERID other than the process owner's) need the scenario key
 * `claim:`; until the scenario DSL has it they are written as comments with their expected
 * outcome, and counted as such.
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
  /** The scenario DSL accepts `claim:` (forged USERIDs) — then forged classes are real cases. */
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
      writable: cls.witness.claim === undefined || options.claims === true,
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

export function caseName(c: RequestClass): string {
  const claim = c.user.kind === 'forged' ? '' : '';
  return `${c.origin} ${c.protocol} ${c.user.label}${claim} → ${c.destination.label} port ${c.port.label}`;
}

/**
 * The path a run's trace can show: a first hop that closes without a request (SOCKS 5 to a
 * server without --socks5) reports nothing, so a prediction with no hop and no destination
 * reached is observed as the origin alone.
 */
function observablePath(p: Prediction): readonly string[] {
  return p.hops.length === 0 && !p.reached ? p.path.slice(0, 1) : p.path;
}

/** The case's lines (indented for a `cases:` list), or comment lines for a case not writable. */
function caseLines(f: FrozenCase, name: string): string[] {
  const { cls, prediction: p } = f;
  const w = cls.witness;
  const lines = [
    `- name: ${y(name)}`,
    `  description: ${y(`class ${cls.id}${cls.destination.live ? '' : ' (destination: no host of the topology)'}`)}`,
    `  tags: [frozen, ${y(verdictOf(p))}]`,
    `  from: ${y(w.from)}`,
    `  user: ${y(w.user)}`,
    ...(w.claim !== undefined ? [`  claim: ${y(w.claim)}`] : []),
    `  protocol: ${w.protocol}`,
    `  connect: ${y(`${w.target.host}:${w.target.port}`)}`,
    '  expect:',
    `    reply: ${y(replyName(p.reply, w.protocol))}`,
    `    path: [${observablePath(p)
      .map((h) => y(h))
      .join(', ')}]`,
  ];
  // A shortcut (loopback, unspecified: d.3.1) decides before socks.conf is read: no line to cite.
  if (p.clientRoute && p.clientRoute.line !== null)
    lines.push(
      `    clientRoute: ${flow([
        ['action', p.clientRoute.action],
        ['line', p.clientRoute.line ?? undefined],
      ])}`,
    );
  if (p.hops.length > 0) {
    lines.push('    rules:');
    for (const h of p.hops)
      lines.push(
        `      - ${flow([
          ['host', h.host],
          ['file', h.decision.file ?? undefined],
          ['line', h.decision.line ?? undefined],
          ['action', h.decision.action],
          ['reason', h.decision.reason],
        ])}`,
      );
    lines.push('    identd:');
    for (const h of p.hops)
      lines.push(
        h.identd
          ? `      ${y(h.host)}: ${flow([
              ['queried', h.identd.queried],
              ['user', h.identd.user],
              ['verdict', h.identd.verdict],
            ])}`
          : `      ${y(h.host)}: none`,
      );
  }
  lines.push(`    reached: ${p.reached}`);
  return f.writable ? lines : lines.map((l) => `# ${l}`);
}

/** The frozen scenario file's text (see the module comment). */
export function renderFrozen(frozen: Frozen): string {
  const forged = frozen.cases.filter((c) => !c.writable).length;
  const out = [
    '# yaml-language-server: $schema=scenario.schema.json',
    '#',
    `# Frozen by \`sockslab freeze ${frozen.source}\`: one case per request class of ${frozen.topology}`,
    `# (${frozen.classes} classes), each the class's witness request with every expectation its configs`,
    '# give today. Run it in CI: a case fails exactly where a config change alters behaviour.',
    '# Regenerate it (same input, same file) when a change is meant.',
    ...(forged > 0
      ? [
          '#',
          `# ${forged} forged-claim classes (a USERID other than the process owner's) are kept as comments:`,
          '# the scenario DSL of this version has no `claim:` key to send them with.',
        ]
      : []),
    `topology: ${y(frozen.topology)}`,
    `description: ${y(`frozen behaviour of ${frozen.topology}: one case per request class`)}`,
    'defaults: { timeout: 5s }',
    '',
    'cases:',
  ];
  const seen = new Set<string>();
  for (const f of frozen.cases) {
    let name = caseName(f.cls);
    if (seen.has(name)) name = `${name} [${f.cls.id}]`;
    seen.add(name);
    out.push(...caseLines(f, name).map((l) => `  ${l}`), '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
