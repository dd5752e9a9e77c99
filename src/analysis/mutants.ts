import {
  type AddrSpec,
  type AnyConfig,
  type ClientConfig,
  type ClientRule,
  type IdentdMode,
  PortOps,
  type RouteRule,
  type ServerRule,
  type UserList,
} from '../config/ast.ts';
import { dumpConfig, undumpToText } from '../config/dump.ts';
import type { HostModel, ParsedConfigText, ResolvedTopology } from '../topology/model.ts';
import type { ParsedHostConfigs } from '../topology/resolve.ts';

/**
 * Config mutants: one small edit of one line of one host's parsed config, the kind of slip a
 * reviewer should expect the scenario suite to notice. Pure: parsed configs in, mutated parsed
 * configs out (the text is never lexed again); each mutant carries the one-line diff that shows
 * it, the original line as written beside the mutated rule in the canonical dump form.
 */

/** A topology with the parsed configs of every host: what analysis reasons about. */
export interface Design {
  readonly topology: ResolvedTopology;
  readonly configs: ReadonlyMap<string, ParsedHostConfigs>;
}

/** Which config of a host a mutant edits (the keys of ParsedHostConfigs). */
export type ConfigSlot = 'server' | 'client' | 'route' | 'probeClient';

export const MutationOperators = {
  action: 'permit↔deny in sockd.conf; direct, sockd or deny in socks.conf',
  'drop-line': 'the line commented out (the other lines keep their numbers)',
  'swap-next': 'the line and the next rule line change places',
  'mask-widen': 'one bit less in a written mask (/24 → /23)',
  'mask-narrow': 'one bit more in a written mask (/24 → /25)',
  identd: 'the effective identd mode one step weaker: ?=I → ?=i → ?=n',
  'drop-user': 'one name or file removed from a *= list',
  'port-op': 'the port operator replaced by another',
  'drop-server': 'one entry removed from an @= list (an empty list means the default server)',
  'reorder-servers': 'two adjacent @= entries swapped',
} as const;
export type MutationOperator = keyof typeof MutationOperators;

/** One line of a mutant's diff: `before` as written in the file, `after` as the dump prints it. */
export interface DiffLine {
  readonly line: number;
  /** null: the line did not exist (never, today) */
  readonly before: string | null;
  /** null: the line is gone (drop-line) */
  readonly after: string | null;
}

export interface Mutant {
  /** `A sockd.conf:4 port-op ge` — stable, so fixtures and CI can name mutants. */
  readonly id: string;
  readonly host: string;
  readonly slot: ConfigSlot;
  /** The file's name as reports call it (`socks.conf`, or `probe socks.conf` on a server host). */
  readonly file: string;
  readonly line: number;
  readonly operator: MutationOperator;
  readonly detail?: string;
  /** The mutated config. */
  readonly config: AnyConfig;
  /** The host's configs with the mutated one in its slot. */
  readonly configs: ParsedHostConfigs;
  readonly diff: readonly DiffLine[];
  /**
   * Line numbers of the mutated file that hold another original line (swap-next): mutated line →
   * original line. Lets behaviour be compared rule for rule when only positions moved.
   */
  readonly lineMap: ReadonlyMap<number, number>;
}

type AnyRule = ServerRule | ClientRule | RouteRule;

interface Edit<R> {
  readonly operator: MutationOperator;
  readonly detail?: string;
  readonly rule: R;
}

/** The canonical (dump) text of one rule, without the `line N: ` prefix. */
export function ruleText(kind: AnyConfig['kind'], rule: AnyRule): string {
  const file = rule.file;
  const config: AnyConfig =
    kind === 'sockd.route'
      ? { kind, file, routes: [rule as RouteRule] }
      : kind === 'socks.conf'
        ? { kind, file, rules: [rule as ClientRule] }
        : { kind, file, rules: [rule as ServerRule] };
  return dumpConfig(config)
    .replace(/^line \d+: /, '')
    .replace(/\n$/, '');
}

/** The config as text the runtimes load: the dump, each rule on its line (comments become blank). */
export function configText(config: AnyConfig): string {
  return undumpToText(dumpConfig(config));
}

// ---- field edits -------------------------------------------------------------------------

function maskEdits(spec: AddrSpec): { operator: 'mask-widen' | 'mask-narrow'; spec: AddrSpec }[] {
  if (spec.pattern.kind !== 'ip' || spec.maskOmitted) return [];
  const mask = spec.mask >>> 0;
  const out: { operator: 'mask-widen' | 'mask-narrow'; spec: AddrSpec }[] = [];
  // Widen: the lowest bit tested goes (/24 → /23); narrow: the highest bit not tested comes in.
  if (mask !== 0) out.push({ operator: 'mask-widen', spec: { ...spec, mask: (mask & (mask - 1)) >>> 0 } });
  if (mask !== 0xffffffff) {
    let bit = 31;
    while (bit >= 0 && (mask & (2 ** bit)) !== 0) bit--;
    out.push({ operator: 'mask-narrow', spec: { ...spec, mask: (mask + 2 ** bit) >>> 0 } });
  }
  return out;
}

function withoutUser(list: UserList, index: number): UserList | undefined {
  const elements = list.elements.filter((_, i) => i !== index);
  if (elements.length === 0) return undefined;
  const text = `*=${elements.map((e) => (e.kind === 'name' ? e.name : e.path)).join(',')}`;
  return { ...list, elements, text };
}

/** Edits every rule kind shares: masks, users and port operators. */
function commonEdits<R extends ServerRule | ClientRule>(rule: R): Edit<R>[] {
  const out: Edit<R>[] = [];
  const fields: ('src' | 'dst')[] = 'src' in rule ? ['src', 'dst'] : ['dst'];
  for (const field of fields) {
    if (field === 'dst' && rule.dstDefaulted) continue;
    const spec = field === 'src' ? (rule as ServerRule).src : rule.dst;
    for (const e of maskEdits(spec))
      out.push({ operator: e.operator, detail: field, rule: { ...rule, [field]: e.spec } });
  }
  const users = rule.users;
  if (users) {
    users.elements.forEach((el, i) => {
      const next = withoutUser(users, i);
      const { users: _dropped, ...rest } = rule;
      out.push({
        operator: 'drop-user',
        detail: el.kind === 'name' ? el.name : el.path,
        rule: (next ? { ...rest, users: next } : rest) as R,
      });
    });
  }
  const port = rule.port;
  if (port) {
    for (const op of PortOps) {
      if (op !== port.op)
        out.push({ operator: 'port-op', detail: op, rule: { ...rule, port: { ...port, op } } });
    }
  }
  return out;
}

const Weaker: Readonly<Record<IdentdMode, { mode: IdentdMode; text: string } | null>> = {
  strict: { mode: 'lenient', text: '?=i' },
  lenient: { mode: 'off', text: '?=n' },
  off: null,
};

function serverEdits(rule: ServerRule, identdDefault: IdentdMode): Edit<ServerRule>[] {
  const out: Edit<ServerRule>[] = [];
  if (rule.action === 'permit') {
    // A deny line carries no identd mode.
    const { identd: _identd, ...rest } = rule;
    out.push({ operator: 'action', detail: 'deny', rule: { ...rest, action: 'deny' } });
  } else {
    out.push({ operator: 'action', detail: 'permit', rule: { ...rule, action: 'permit' } });
  }
  out.push(...commonEdits(rule));
  if (rule.action === 'permit') {
    const weaker = Weaker[rule.identd?.mode ?? identdDefault];
    if (weaker) {
      const pos = rule.identd?.pos ?? rule.src.pos;
      out.push({
        operator: 'identd',
        detail: weaker.text,
        rule: { ...rule, identd: { mode: weaker.mode, text: weaker.text, pos } },
      });
    }
  }
  return out;
}

function clientEdits(rule: ClientRule, config: ClientConfig): Edit<ClientRule>[] {
  const out: Edit<ClientRule>[] = [];
  const { servers, ...bare } = rule;
  const as = (action: ClientRule['action']): Edit<ClientRule> => ({
    operator: 'action',
    detail: action,
    rule: { ...bare, action },
  });
  if (rule.action === 'direct') {
    // direct → sockd sends the line's traffic where the file's first sockd line sends its own.
    const list = config.rules.find((r) => r.action === 'sockd')?.servers;
    out.push({
      operator: 'action',
      detail: 'sockd',
      rule: { ...bare, action: 'sockd', ...(list ? { servers: list } : {}) },
    });
    out.push(as('deny'));
  } else if (rule.action === 'sockd') {
    out.push(as('direct'), as('deny'));
  } else {
    out.push(as('direct'));
  }
  out.push(...commonEdits(rule));
  if (servers) {
    const entries = servers.entries;
    const listed = (list: readonly string[]): ClientRule =>
      list.length === 0
        ? bare
        : { ...bare, servers: { ...servers, entries: list, text: `@=${list.join(',')}`, atForm: false } };
    entries.forEach((entry, i) => {
      out.push({ operator: 'drop-server', detail: entry, rule: listed(entries.filter((_, k) => k !== i)) });
    });
    for (let i = 0; i + 1 < entries.length; i++) {
      const list = [...entries];
      [list[i], list[i + 1]] = [list[i + 1]!, list[i]!];
      out.push({ operator: 'reorder-servers', detail: list.join(','), rule: listed(list) });
    }
  }
  return out;
}

function routeEdits(rule: RouteRule): Edit<RouteRule>[] {
  return maskEdits(rule.dst).map((e) => ({
    operator: e.operator,
    detail: 'dst',
    rule: { ...rule, dst: e.spec },
  }));
}

// ---- whole-config mutants ----------------------------------------------------------------

function rulesOf(config: AnyConfig): readonly AnyRule[] {
  return config.kind === 'sockd.route' ? config.routes : config.rules;
}

function withRules(config: AnyConfig, rules: readonly AnyRule[]): AnyConfig {
  switch (config.kind) {
    case 'sockd.route':
      return { ...config, routes: rules as RouteRule[] };
    case 'socks.conf':
      return { ...config, rules: rules as ClientRule[] };
    case 'sockd.conf':
      return { ...config, rules: rules as ServerRule[] };
  }
}

function fileLabel(host: HostModel, slot: ConfigSlot): string {
  switch (slot) {
    case 'server':
      return 'sockd.conf';
    case 'client':
      return 'socks.conf';
    case 'route':
      return 'sockd.route';
    case 'probeClient':
      return host.server ? 'probe socks.conf' : 'socks.conf';
  }
}

/** One edit of a file, before it is made a Mutant: where, by which operator, and the rules after it. */
interface RuleChange {
  readonly line: number;
  readonly operator: MutationOperator;
  readonly detail: string | undefined;
  readonly next: readonly AnyRule[];
  readonly diff: DiffLine[];
  readonly lineMap?: ReadonlyMap<number, number>;
}

/** Every mutant of one config of a host: each rule's changes, rule by rule. */
function slotMutants(
  host: HostModel,
  slot: ConfigSlot,
  config: AnyConfig,
  configs: ParsedHostConfigs,
): Mutant[] {
  const file = fileLabel(host, slot);
  const rules = rulesOf(config);
  return rules.flatMap((_, i) =>
    ruleChanges(host, config, rules, i).map((change): Mutant => {
      const mutated = withRules(config, change.next);
      const { line, operator, detail } = change;
      return {
        id: `${host.name} ${file}:${line} ${operator}${detail !== undefined ? ` ${detail}` : ''}`,
        host: host.name,
        slot,
        file,
        line,
        operator,
        ...(detail !== undefined ? { detail } : {}),
        config: mutated,
        configs: { ...configs, [slot]: mutated },
        diff: change.diff,
        lineMap: change.lineMap ?? new Map(),
      };
    }),
  );
}

/** The changes of rule `i`: the `action` edits first, then drop and swap, then the field edits, as the operators read. */
function ruleChanges(host: HostModel, config: AnyConfig, rules: readonly AnyRule[], i: number): RuleChange[] {
  const rule = rules[i]!;
  const edits = ruleEdits(host, config, rule);
  const edited = (e: Edit<AnyRule>): RuleChange => ({
    line: rule.line,
    operator: e.operator,
    detail: e.detail,
    next: rules.map((x, k) => (k === i ? e.rule : x)),
    diff: [{ line: rule.line, before: rule.source, after: ruleText(config.kind, e.rule) }],
  });
  const dropped: RuleChange = {
    line: rule.line,
    operator: 'drop-line',
    detail: undefined,
    next: rules.filter((_, k) => k !== i),
    diff: [{ line: rule.line, before: rule.source, after: null }],
  };
  const swapped = swapWithNext(rules, i);
  return [
    ...edits.filter((e) => e.operator === 'action').map(edited),
    dropped,
    ...(swapped ? [swapped] : []),
    ...edits.filter((e) => e.operator !== 'action').map(edited),
  ];
}

function ruleEdits(host: HostModel, config: AnyConfig, rule: AnyRule): Edit<AnyRule>[] {
  return config.kind === 'sockd.conf'
    ? serverEdits(rule as ServerRule, host.server?.identdDefault ?? 'off')
    : config.kind === 'socks.conf'
      ? clientEdits(rule as ClientRule, config)
      : routeEdits(rule as RouteRule);
}

/** Rule `i` and the next change places: each text moves to the other's line, and cites of the mutated file name the new positions. */
function swapWithNext(rules: readonly AnyRule[], i: number): RuleChange | undefined {
  const rule = rules[i]!;
  const next = rules[i + 1];
  if (!next) return undefined;
  return {
    line: rule.line,
    operator: 'swap-next',
    detail: undefined,
    next: rules.map((x, k) =>
      k === i
        ? { ...next, line: rule.line, source: next.source }
        : k === i + 1
          ? { ...rule, line: next.line }
          : x,
    ),
    diff: [
      { line: rule.line, before: rule.source, after: next.source },
      { line: next.line, before: next.source, after: rule.source },
    ],
    lineMap: new Map([
      [rule.line, next.line],
      [next.line, rule.line],
    ]),
  };
}

const Slots: readonly ConfigSlot[] = ['probeClient', 'server', 'client', 'route'];

/** Every mutant of every config of the design, host by host in topology order. */
export function generateMutants(design: Design): Mutant[] {
  const out: Mutant[] = [];
  for (const host of design.topology.hosts) {
    const configs = design.configs.get(host.name);
    if (!configs) continue;
    for (const slot of Slots) {
      const config = configs[slot];
      if (config) out.push(...slotMutants(host, slot, config, configs));
    }
  }
  return out;
}

/** The design with the mutant in place. */
export function mutantDesign(design: Design, mutant: Mutant): Design {
  const configs = new Map(design.configs);
  configs.set(mutant.host, mutant.configs);
  return { topology: mutantTopology(design.topology, mutant), configs };
}

/**
 * The topology a runtime brings up for the mutant: the mutated file's text replaced by the dump of
 * the mutated config (each rule on its own line number), everything else as it was.
 */
export function mutantTopology(topology: ResolvedTopology, mutant: Mutant): ResolvedTopology {
  const text = configText(mutant.config);
  // The dump parses back to the mutated rules on the same lines (tested), so the model carries
  // the mutant's config as the parse of its text.
  const swap = <C extends AnyConfig>(c: ParsedConfigText<C>): ParsedConfigText<C> => ({
    ...c,
    text,
    parsed: { ok: true, config: mutant.config as C },
  });
  return {
    ...topology,
    hosts: topology.hosts.map((h) => {
      if (h.name !== mutant.host) return h;
      if (mutant.slot === 'probeClient')
        return h.clientSocksConf ? { ...h, clientSocksConf: swap(h.clientSocksConf) } : h;
      const s = h.server;
      if (!s) return h;
      if (mutant.slot === 'server') return { ...h, server: { ...s, sockdConf: swap(s.sockdConf) } };
      if (mutant.slot === 'client')
        return s.socksConf ? { ...h, server: { ...s, socksConf: swap(s.socksConf) } } : h;
      return s.sockdRoute ? { ...h, server: { ...s, sockdRoute: swap(s.sockdRoute) } } : h;
    }),
  };
}
