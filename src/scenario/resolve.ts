import { basename, extname } from 'node:path';
import { isDottedQuadShape } from '../common/inet-address.ts';
import type { ProbeProtocol, ProbeRequest } from '../runtime/runtime.ts';
import { parseConfigText } from '../topology/config-parsers.ts';
import { LinkFaultError, resolveLinkFault } from '../topology/link-faults.ts';
import type { IdentdBehaviour, ResolvedTopology, TextOrigin } from '../topology/model.ts';
import { type LoadedScenario, scenarioError, type YamlPath } from './load.ts';
import type { Scenario, ScenarioCase, ScenarioStep } from './model.ts';
import { type ResolveCtx, resolveCtx } from './resolve-context.ts';
import { resolveExpect } from './resolve-expect.ts';
import { type RawCase, type RawExpect, type RawStep, type RawTableRow, TableRequestKeys } from './schema.ts';

/**
 * Scenario loader, second stage: check every name against the topology, expand matrices and
 * normalise expectations. Errors cite the YAML node they come from.
 */

export const DefaultCaseTimeoutMs = 10_000;

/** Does a scenario's `topology:` field name this topology (by name or by file name)? */
export function namesTopology(reference: string, topology: ResolvedTopology): boolean {
  const file = basename(topology.file);
  const stem = basename(file, extname(file));
  return reference === topology.name || reference === file || reference === stem;
}

export function parseDuration(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)$/.exec(value);
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000);
}

const MatrixKeys = ['user', 'from', 'target', 'port'] as const;
type BindingKey = (typeof TableRequestKeys)[number];
type Binding = Partial<Record<BindingKey, string | number>>;

/** One expansion of a case: its request dimensions, and for a table row its expectations and place. */
interface Variant {
  readonly binding: Binding;
  /** The row's expectation keys (table rows only). */
  readonly expect?: RawExpect;
  /** YAML path of the row (table rows only): its errors and the case's source point there. */
  readonly row?: YamlPath;
}

/** A table row split into request dimensions and expectations; keys keep the row's own spelling. */
function splitRow(row: RawTableRow): { binding: Binding; expect: RawExpect } {
  const binding: Binding = {};
  const expect: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if ((TableRequestKeys as readonly string[]).includes(key))
      binding[key as BindingKey] = value as string | number;
    else expect[key] = value;
  }
  return { binding, expect: expect as RawExpect };
}

function combinations(matrix: RawCase['matrix']): Binding[] {
  let out: Binding[] = [{}];
  for (const key of MatrixKeys) {
    const values = matrix?.[key];
    if (!values) continue;
    out = out.flatMap((b) => values.map((v) => ({ ...b, [key]: v })));
  }
  return out;
}

/** `${user}` etc. in every string of the case, so expectations can follow the matrix. */
function substitute<T>(value: T, binding: Binding): T {
  if (typeof value === 'string') {
    return value.replace(/\$\{(user|from|claim|protocol|target|port)\}/g, (whole, key: BindingKey) =>
      binding[key] === undefined ? whole : String(binding[key]),
    ) as T;
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, binding)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [substitute(k, binding), substitute(v, binding)]),
    ) as T;
  }
  return value;
}

type ReplaceConfigStep = Extract<ScenarioStep, { kind: 'replaceConfig' }>;

/**
 * A replaceConfig step as the scenario loader makes it: the text parsed once, here. `origin` is
 * where the text starts (a scenario's YAML line, so a parse error's lines count from there, as an
 * inline config in a topology does: configPosition); code that makes steps of its own may leave it out.
 */
export function replaceConfigStep(
  host: string,
  file: ReplaceConfigStep['file'],
  text: string,
  options: { readonly origin?: TextOrigin; readonly reloaded?: boolean } = {},
): ReplaceConfigStep {
  const origin = options.origin ?? { file, line: 1, column: 1, inline: false };
  return {
    kind: 'replaceConfig',
    host,
    file,
    text,
    config: parseConfigText(file, { text, name: file, origin }),
    ...(options.reloaded !== undefined ? { reloaded: options.reloaded } : {}),
  };
}

export function resolveScenario(loaded: LoadedScenario, topology: ResolvedTopology): Scenario {
  const raw = loaded.raw;
  if (!namesTopology(raw.topology, topology)) {
    throw scenarioError(
      'E_SCENARIO_TOPOLOGY',
      loaded,
      ['topology'],
      `names topology "${raw.topology}", but it is being run against "${topology.name}" (${basename(topology.file)})`,
    );
  }
  const defaultTimeout =
    raw.defaults?.timeout !== undefined ? parseDuration(raw.defaults.timeout) : DefaultCaseTimeoutMs;
  const ctx = resolveCtx(loaded, topology, defaultTimeout);
  const cases: ScenarioCase[] = [];
  const names = new Map<string, number>();
  raw.cases.forEach((rawCase, index) => {
    const base: YamlPath = ['cases', index];
    for (const { c, variant, name } of caseVariants(ctx, rawCase, base)) {
      const seen = names.get(name);
      if (seen !== undefined)
        ctx.fail(
          variant.row ?? [...base, 'name'],
          `duplicate case name "${name}" (also cases[${seen}])`,
          'E_SCENARIO_DUPLICATE',
        );
      names.set(name, index);
      cases.push(resolveCase(ctx, c, variant, name, base));
    }
  });
  return {
    file: loaded.file,
    topology: raw.topology,
    ...(raw.description !== undefined ? { description: raw.description } : {}),
    cases,
  };
}

/**
 * A raw case expanded into its variants (one per table row or matrix combination, else itself),
 * each with the row's expectations laid over the case's and its name.
 */
function caseVariants(
  ctx: ResolveCtx,
  rawCase: RawCase,
  base: YamlPath,
): { c: RawCase; variant: Variant; name: string }[] {
  if (rawCase.matrix && rawCase.table)
    ctx.fail([...base, 'table'], 'a case has either matrix or table, not both', 'E_SCENARIO_SCHEMA');
  if (!rawCase.expect && !rawCase.table)
    ctx.fail(
      base,
      'a case needs expect: (or a table: whose rows carry the expectations)',
      'E_SCENARIO_SCHEMA',
    );
  const variants: Variant[] = rawCase.table
    ? rawCase.table.map((row, j) => ({ ...splitRow(row), row: [...base, 'table', j] }))
    : combinations(rawCase.matrix).map((binding) => ({ binding }));
  return variants.map((variant) => {
    const { binding } = variant;
    const substituted = substitute(rawCase, binding);
    // A row's expectations replace the case's, key by key (a row's `identd` replaces the whole map).
    const c: RawCase = variant.row
      ? { ...substituted, expect: { ...substituted.expect, ...substitute(variant.expect, binding) } }
      : substituted;
    // Request keys in one fixed order, whatever the row's order, so names are stable.
    const suffix = TableRequestKeys.filter((k) => binding[k] !== undefined)
      .filter((k) => !rawCase.name.includes(`\${${k}}`))
      .map((k) => `${k}=${binding[k]}`)
      .join(', ');
    return { c, variant, name: suffix ? `${c.name} [${suffix}]` : c.name };
  });
}

function resolveCase(
  ctx: ResolveCtx,
  c: RawCase,
  variant: Variant,
  name: string,
  base: YamlPath,
): ScenarioCase {
  const { binding } = variant;
  /** Where a request key's value was written: the row, the matrix, or the case itself. */
  const at = (key: BindingKey, own: YamlPath = [...base, key]): YamlPath =>
    binding[key] === undefined ? own : variant.row ? [...variant.row, key] : [...base, 'matrix', key];
  const protocol: ProbeProtocol =
    (binding.protocol as ProbeProtocol | undefined) ??
    c.protocol ??
    ctx.loaded.raw.defaults?.protocol ??
    'socks4';
  const from = ctx.host(String(binding.from ?? c.from), at('from'));
  if (c.connect && c.bind) ctx.fail(base, 'a case has either connect or bind, not both', 'E_SCENARIO_SCHEMA');
  if (!c.connect && !c.bind)
    ctx.fail(base, 'a case needs a request: connect: host:port or bind: {...}', 'E_SCENARIO_SCHEMA');
  if (c.credentials && protocol !== 'socks5') {
    ctx.fail(
      binding.protocol !== undefined ? at('protocol') : [...base, 'credentials'],
      `credentials need protocol socks5 (this case uses ${protocol})`,
      'E_SCENARIO_SCHEMA',
    );
  }
  const { target, command, bindPeer } = requestTarget(ctx, c, binding, at, base);
  let via: string | undefined;
  if (c.via !== undefined && c.via !== 'socks.conf') {
    const [viaHost, viaPort] = c.via.split(':');
    if (!isDottedQuadShape(viaHost ?? '')) ctx.host(viaHost ?? '', [...base, 'via']);
    if (viaPort !== undefined && !/^\d+$/.test(viaPort))
      ctx.fail([...base, 'via'], `bad port in via "${c.via}"`, 'E_SCENARIO_SCHEMA');
    via = c.via;
  }
  const timeoutMs = c.timeout !== undefined ? parseDuration(c.timeout) : ctx.defaultTimeout;
  const user = ctx.account(from, String(binding.user ?? c.user), at('user'));
  const claim = binding.claim !== undefined ? String(binding.claim) : c.claim;
  if (claim !== undefined && protocol === 'socks5')
    ctx.fail(
      at('claim'),
      'claim is the SOCKS 4 USERID; a SOCKS 5 request names its user in credentials',
      'E_SCENARIO_SCHEMA',
    );
  const request: ProbeRequest = {
    from,
    user,
    // Only a claim that differs from the owner is a forged one; the same name is no claim at all.
    ...(claim !== undefined && claim !== user ? { claim } : {}),
    protocol,
    command,
    target,
    timeoutMs,
    ...(via !== undefined ? { via } : { useSocksConf: true }),
    ...(c.credentials ? { credentials: c.credentials } : {}),
    ...(c.send !== undefined ? { send: c.send } : {}),
    ...(bindPeer ? { bindPeer } : {}),
  };
  const steps = (list: readonly RawStep[] | undefined, key: 'steps' | 'cleanup') =>
    (list ?? []).map((s, i) => resolveStep(ctx, s, [...base, key, i]));
  if (variant.expect) resolveExpect(ctx, variant.expect, protocol, variant.row!, target.host); // the row's own errors, at the row
  const loc = ctx.loaded.locate(variant.row ?? base);
  return {
    name,
    scenario: ctx.loaded.file,
    ...(c.description !== undefined ? { description: c.description } : {}),
    tags: c.tags ?? [],
    protocol,
    request,
    steps: steps(c.steps, 'steps'),
    cleanup: steps(c.cleanup, 'cleanup'),
    keep: c.keep ?? false,
    timeoutMs,
    expect: resolveExpect(ctx, c.expect ?? {}, protocol, [...base, 'expect'], target.host),
    source: { file: ctx.loaded.file, line: loc.line, column: loc.column },
  };
}

/** The request's destination and command (connect or bind, with the BIND peer), checked against the topology. */
function requestTarget(
  ctx: ResolveCtx,
  c: RawCase,
  binding: Binding,
  at: (key: BindingKey, own?: YamlPath) => YamlPath,
  base: YamlPath,
): {
  target: { host: string; port: number };
  command: 'connect' | 'bind';
  bindPeer: ProbeRequest['bindPeer'];
} {
  let target: { host: string; port: number };
  let command: 'connect' | 'bind';
  let bindPeer: ProbeRequest['bindPeer'];
  if (c.connect) {
    command = 'connect';
    if (typeof c.connect === 'string') {
      const colon = c.connect.lastIndexOf(':');
      target = { host: c.connect.slice(0, colon), port: Number(c.connect.slice(colon + 1)) };
    } else target = { ...c.connect };
  } else {
    command = 'bind';
    const b = c.bind!;
    target = { host: b.host, port: b.port };
    if (b.peer !== undefined) {
      const peer = ctx.host(b.peer, [...base, 'bind', 'peer']);
      bindPeer = {
        from: peer,
        ...(b.peerUser !== undefined
          ? { user: ctx.account(peer, b.peerUser, [...base, 'bind', 'peerUser']) }
          : {}),
      };
    }
  }
  if (binding.target !== undefined) target = { ...target, host: String(binding.target) };
  if (binding.port !== undefined) target = { ...target, port: Number(binding.port) };
  if (target.port > 65535)
    ctx.fail(at('port', [...base, 'connect']), `port ${target.port} out of range`, 'E_SCENARIO_SCHEMA');
  if (!ctx.hosts.has(target.host) && !isDottedQuadShape(target.host) && !target.host.includes('.')) {
    ctx.fail(
      at('target', [...base, c.connect ? 'connect' : 'bind']),
      `unknown destination host "${target.host}"; hosts: ${[...ctx.hosts].sort().join(', ')}`,
    );
  }
  return { target, command, bindPeer };
}

function resolveStep(ctx: ResolveCtx, s: RawStep, path: YamlPath): ScenarioStep {
  if ('stop' in s) return { kind: 'stop', host: ctx.host(s.stop, [...path, 'stop']) };
  if ('start' in s) return { kind: 'start', host: ctx.host(s.start, [...path, 'start']) };
  if ('cut' in s) return { kind: 'cut', network: ctx.network(s.cut, [...path, 'cut']) };
  if ('restore' in s) return { kind: 'restore', network: ctx.network(s.restore, [...path, 'restore']) };
  if ('wait' in s) return { kind: 'wait', ms: parseDuration(s.wait) };
  if ('fault' in s) {
    try {
      return { kind: 'fault', fault: resolveLinkFault(s.fault, ctx.topology.hosts) };
    } catch (err) {
      if (!(err instanceof LinkFaultError)) throw err;
      return ctx.fail([...path, 'fault', ...err.path], err.message, 'E_SCENARIO_FAULT');
    }
  }
  if ('heal' in s) {
    if (s.heal === 'all') return { kind: 'heal' };
    const h = ctx.host(s.heal.host, [...path, 'heal', 'host']);
    if (s.heal.network !== undefined) ctx.network(s.heal.network, [...path, 'heal', 'network']);
    return { kind: 'heal', host: h, ...(s.heal.network !== undefined ? { network: s.heal.network } : {}) };
  }
  if ('identd' in s) {
    const b = s.identd.behaviour;
    const behaviour: IdentdBehaviour =
      typeof b === 'string'
        ? { kind: b }
        : 'lying' in b
          ? { kind: 'lying', user: b.lying }
          : { kind: 'error', error: b.error };
    return { kind: 'identd', host: ctx.host(s.identd.host, [...path, 'identd', 'host']), behaviour };
  }
  const r = s.replaceConfig;
  const at = ctx.loaded.textStart([...path, 'replaceConfig', 'text']);
  return replaceConfigStep(ctx.host(r.host, [...path, 'replaceConfig', 'host']), r.file, r.text, {
    origin: { file: ctx.loaded.file, line: at.line, column: at.column, inline: true },
    ...(r.reloaded !== undefined ? { reloaded: r.reloaded } : {}),
  });
}
