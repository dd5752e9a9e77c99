import { basename, extname } from 'node:path';
import { isDottedQuadShape } from '../common/inet-address.ts';
import type { ProbeProtocol, ProbeRequest } from '../runtime/runtime.ts';
import { parseConfigText } from '../topology/config-parsers.ts';
import { LinkFaultError, resolveLinkFault } from '../topology/link-faults.ts';
import type { IdentdBehaviour, ResolvedTopology, TextOrigin } from '../topology/model.ts';
import { parseElapsedBound } from './elapsed.ts';
import { type LoadedScenario, scenarioError, type YamlPath } from './load.ts';
import type {
  CaseExpectations,
  HopExpectation,
  IdentdExpectation,
  RouteExpectation,
  RuleExpectation,
  Scenario,
  ScenarioCase,
  ScenarioStep,
  TextMatcher,
} from './model.ts';
import { AllReplyNames, resolveReply } from './replies.ts';
import {
  type RawCase,
  type RawExpect,
  type RawHopExpect,
  type RawStep,
  type RawTableRow,
  TableRequestKeys,
} from './schema.ts';

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
  const hosts = new Set(topology.hosts.map((h) => h.name));
  const networks = new Set(topology.networks.map((n) => n.name));
  const fail = (path: YamlPath, what: string, code = 'E_SCENARIO_REF'): never => {
    throw scenarioError(code, loaded, path, what);
  };
  const host = (name: string, path: YamlPath): string => {
    if (!hosts.has(name)) fail(path, `unknown host "${name}"; hosts: ${[...hosts].sort().join(', ')}`);
    return name;
  };
  /**
   * The owner of a socket must be an account of the host it runs on (it is what that host's
   * identd names); a claimed USERID (`claim:`) may be anything and is not checked here.
   */
  const account = (hostName: string, user: string, path: YamlPath): string => {
    const users = topology.hosts.find((h) => h.name === hostName)?.users ?? [];
    if (!users.some((u) => u.name === user)) {
      fail(
        path,
        `user "${user}" is not an account of host ${hostName}; its users: ${users.map((u) => u.name).join(', ')}` +
          ' (to send another USERID, use claim:)',
        'E_SCENARIO_USER',
      );
    }
    return user;
  };
  const network = (name: string, path: YamlPath): string => {
    if (!networks.has(name))
      fail(path, `unknown network "${name}"; networks: ${[...networks].sort().join(', ')}`);
    return name;
  };
  const defaultTimeout =
    raw.defaults?.timeout !== undefined ? parseDuration(raw.defaults.timeout) : DefaultCaseTimeoutMs;

  const cases: ScenarioCase[] = [];
  const names = new Map<string, number>();
  raw.cases.forEach((rawCase, index) => {
    const base: YamlPath = ['cases', index];
    if (rawCase.matrix && rawCase.table)
      fail([...base, 'table'], 'a case has either matrix or table, not both', 'E_SCENARIO_SCHEMA');
    if (!rawCase.expect && !rawCase.table)
      fail(base, 'a case needs expect: (or a table: whose rows carry the expectations)', 'E_SCENARIO_SCHEMA');
    const variants: Variant[] = rawCase.table
      ? rawCase.table.map((row, j) => ({ ...splitRow(row), row: [...base, 'table', j] }))
      : combinations(rawCase.matrix).map((binding) => ({ binding }));
    for (const variant of variants) {
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
      const name = suffix ? `${c.name} [${suffix}]` : c.name;
      const seen = names.get(name);
      if (seen !== undefined)
        fail(
          variant.row ?? [...base, 'name'],
          `duplicate case name "${name}" (also cases[${seen}])`,
          'E_SCENARIO_DUPLICATE',
        );
      names.set(name, index);
      cases.push(resolveCase(c, variant, name, base));
    }
  });

  function resolveCase(c: RawCase, variant: Variant, name: string, base: YamlPath): ScenarioCase {
    const { binding } = variant;
    /** Where a request key's value was written: the row, the matrix, or the case itself. */
    const at = (key: BindingKey, own: YamlPath = [...base, key]): YamlPath =>
      binding[key] === undefined ? own : variant.row ? [...variant.row, key] : [...base, 'matrix', key];
    const protocol: ProbeProtocol =
      (binding.protocol as ProbeProtocol | undefined) ?? c.protocol ?? raw.defaults?.protocol ?? 'socks4';
    const from = host(String(binding.from ?? c.from), at('from'));
    if (c.connect && c.bind) fail(base, 'a case has either connect or bind, not both', 'E_SCENARIO_SCHEMA');
    if (!c.connect && !c.bind)
      fail(base, 'a case needs a request: connect: host:port or bind: {...}', 'E_SCENARIO_SCHEMA');
    if (c.credentials && protocol !== 'socks5') {
      fail(
        binding.protocol !== undefined ? at('protocol') : [...base, 'credentials'],
        `credentials need protocol socks5 (this case uses ${protocol})`,
        'E_SCENARIO_SCHEMA',
      );
    }
    let target: { host: string; port: number };
    let command: 'connect' | 'bind';
    let bindPeer: ProbeRequest['bindPeer'];
    if (c.connect) {
      command = 'connect';
      if (typeof c.connect === 'string') {
        const at = c.connect.lastIndexOf(':');
        target = { host: c.connect.slice(0, at), port: Number(c.connect.slice(at + 1)) };
      } else target = { ...c.connect };
    } else {
      command = 'bind';
      const b = c.bind!;
      target = { host: b.host, port: b.port };
      if (b.peer !== undefined) {
        const peer = host(b.peer, [...base, 'bind', 'peer']);
        bindPeer = {
          from: peer,
          ...(b.peerUser !== undefined
            ? { user: account(peer, b.peerUser, [...base, 'bind', 'peerUser']) }
            : {}),
        };
      }
    }
    if (binding.target !== undefined) target = { ...target, host: String(binding.target) };
    if (binding.port !== undefined) target = { ...target, port: Number(binding.port) };
    if (target.port > 65535)
      fail(at('port', [...base, 'connect']), `port ${target.port} out of range`, 'E_SCENARIO_SCHEMA');
    if (!hosts.has(target.host) && !isDottedQuadShape(target.host) && !target.host.includes('.')) {
      fail(
        at('target', [...base, c.connect ? 'connect' : 'bind']),
        `unknown destination host "${target.host}"; hosts: ${[...hosts].sort().join(', ')}`,
      );
    }
    let via: string | undefined;
    if (c.via !== undefined && c.via !== 'socks.conf') {
      const [viaHost, viaPort] = c.via.split(':');
      if (!isDottedQuadShape(viaHost ?? '')) host(viaHost ?? '', [...base, 'via']);
      if (viaPort !== undefined && !/^\d+$/.test(viaPort))
        fail([...base, 'via'], `bad port in via "${c.via}"`, 'E_SCENARIO_SCHEMA');
      via = c.via;
    }
    const timeoutMs = c.timeout !== undefined ? parseDuration(c.timeout) : defaultTimeout;
    const user = account(from, String(binding.user ?? c.user), at('user'));
    const claim = binding.claim !== undefined ? String(binding.claim) : c.claim;
    if (claim !== undefined && protocol === 'socks5')
      fail(
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
      (list ?? []).map((s, i) => resolveStep(s, [...base, key, i]));
    if (variant.expect) resolveExpect(variant.expect, protocol, variant.row!, target.host); // the row's own errors, at the row
    const loc = loaded.locate(variant.row ?? base);
    return {
      name,
      scenario: loaded.file,
      ...(c.description !== undefined ? { description: c.description } : {}),
      tags: c.tags ?? [],
      protocol,
      request,
      steps: steps(c.steps, 'steps'),
      cleanup: steps(c.cleanup, 'cleanup'),
      keep: c.keep ?? false,
      timeoutMs,
      expect: resolveExpect(c.expect ?? {}, protocol, [...base, 'expect'], target.host),
      source: { file: loaded.file, line: loc.line, column: loc.column },
    };
  }

  function resolveStep(s: RawStep, path: YamlPath): ScenarioStep {
    if ('stop' in s) return { kind: 'stop', host: host(s.stop, [...path, 'stop']) };
    if ('start' in s) return { kind: 'start', host: host(s.start, [...path, 'start']) };
    if ('cut' in s) return { kind: 'cut', network: network(s.cut, [...path, 'cut']) };
    if ('restore' in s) return { kind: 'restore', network: network(s.restore, [...path, 'restore']) };
    if ('wait' in s) return { kind: 'wait', ms: parseDuration(s.wait) };
    if ('fault' in s) {
      try {
        return { kind: 'fault', fault: resolveLinkFault(s.fault, topology.hosts) };
      } catch (err) {
        if (!(err instanceof LinkFaultError)) throw err;
        return fail([...path, 'fault', ...err.path], err.message, 'E_SCENARIO_FAULT');
      }
    }
    if ('heal' in s) {
      if (s.heal === 'all') return { kind: 'heal' };
      const h = host(s.heal.host, [...path, 'heal', 'host']);
      if (s.heal.network !== undefined) network(s.heal.network, [...path, 'heal', 'network']);
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
      return { kind: 'identd', host: host(s.identd.host, [...path, 'identd', 'host']), behaviour };
    }
    const r = s.replaceConfig;
    const at = loaded.textStart([...path, 'replaceConfig', 'text']);
    return replaceConfigStep(host(r.host, [...path, 'replaceConfig', 'host']), r.file, r.text, {
      origin: { file: loaded.file, line: at.line, column: at.column, inline: true },
      ...(r.reloaded !== undefined ? { reloaded: r.reloaded } : {}),
    });
  }

  function reply(value: number | string, protocol: ProbeProtocol, path: YamlPath): number | null {
    const code = resolveReply(value, protocol);
    if (code === undefined) {
      fail(
        path,
        `unknown reply "${value}" for ${protocol}; use a number or one of: ${AllReplyNames.join(', ')}`,
        'E_SCENARIO_REPLY',
      );
    }
    return code as number | null;
  }

  function matcher(
    m: RawExpect['logs'] extends readonly (infer M)[] | undefined ? M : never,
    path: YamlPath,
  ): TextMatcher {
    const regex = (source: string, flags: string, text: string, at?: string): TextMatcher => {
      try {
        new RegExp(source, flags);
      } catch (err) {
        fail(path, `bad regular expression: ${(err as Error).message}`, 'E_SCENARIO_SCHEMA');
      }
      return { ...(at !== undefined ? { host: at } : {}), regex: { source, flags }, text };
    };
    if (typeof m === 'string') {
      // Shorthand: `/re/flags` is a regular expression, anything else a substring.
      const re = /^\/(.*)\/([dgimsuyv]*)$/s.exec(m);
      return re ? regex(re[1]!, re[2]!, m) : { contains: m, text: m };
    }
    if ((m.contains === undefined) === (m.regex === undefined)) {
      fail(path, 'give exactly one of contains or regex', 'E_SCENARIO_SCHEMA');
    }
    if (m.host !== undefined) host(m.host, [...path, 'host']);
    if (m.regex !== undefined) return regex(m.regex, '', `/${m.regex}/`, m.host);
    return { ...(m.host !== undefined ? { host: m.host } : {}), contains: m.contains!, text: m.contains! };
  }

  function elapsedBounds(
    e: NonNullable<RawExpect['elapsed']>,
    path: YamlPath,
  ): NonNullable<CaseExpectations['elapsed']> {
    const one = (key: 'after' | 'before') => {
      const v = e[key];
      if (v === undefined) return {};
      const b = parseElapsedBound(v);
      if (typeof b === 'string') return fail([...path, key], b, 'E_SCENARIO_SCHEMA');
      return { [key]: b };
    };
    return { ...one('after'), ...one('before') };
  }

  function resolveHopExpect(
    hopHost: string,
    v: RawHopExpect,
    protocol: ProbeProtocol,
    p: YamlPath,
    target: string,
  ): HopExpectation {
    host(hopHost, p);
    if (v.resolvedBy !== undefined && v.resolvedBy !== null) host(v.resolvedBy, [...p, 'resolvedBy']);
    // The only name a hop can receive, or have had resolved for it, is the case's destination.
    if (v.name !== undefined && v.name.toLowerCase() !== target.toLowerCase())
      fail(
        [...p, 'name'],
        `unknown name "${v.name}": this case's destination is ${target}, the only name a hop can receive`,
      );
    for (const key of ['address', 'bound'] as const) {
      const a = v[key];
      if (typeof a === 'string' && !isDottedQuadShape(a))
        fail([...p, key], `"${a}" is not a dotted IPv4 address`, 'E_SCENARIO_SCHEMA');
    }
    const { secondReply, sockdRoute, ...rest } = v;
    return {
      host: hopHost,
      ...(Object.fromEntries(Object.entries(rest).filter(([, x]) => x !== undefined)) as Omit<
        HopExpectation,
        'host' | 'secondReply' | 'sockdRoute'
      >),
      ...(secondReply !== undefined
        ? {
            secondReply: secondReply === null ? null : reply(secondReply, protocol, [...p, 'secondReply']),
          }
        : {}),
      ...(sockdRoute !== undefined
        ? {
            sockdRoute: Object.fromEntries(
              Object.entries(sockdRoute).filter(([, x]) => x !== undefined),
            ) as NonNullable<HopExpectation['sockdRoute']>,
          }
        : {}),
    };
  }

  function resolveExpect(
    e: RawExpect,
    protocol: ProbeProtocol,
    path: YamlPath,
    target: string,
  ): CaseExpectations {
    const identd: IdentdExpectation[] = Object.entries(e.identd ?? {}).map(([hopHost, v]) => {
      const p = [...path, 'identd', hopHost];
      host(hopHost, p);
      if (typeof v === 'string')
        return v === 'none' ? { host: hopHost, none: true } : { host: hopHost, user: v };
      if (v.queried !== undefined) host(v.queried, [...p, 'queried']);
      return { host: hopHost, ...v } as IdentdExpectation;
    });
    const routes: RouteExpectation[] = (
      e.route === undefined ? [] : Array.isArray(e.route) ? e.route : [e.route]
    ).map((r, i) => {
      host(r.host, Array.isArray(e.route) ? [...path, 'route', i, 'host'] : [...path, 'route', 'host']);
      return r as RouteExpectation;
    });
    const hopExpectations: HopExpectation[] = Object.entries(e.hops ?? {}).map(([hopHost, v]) =>
      resolveHopExpect(hopHost, v, protocol, [...path, 'hops', hopHost], target),
    );
    (e.path ?? []).forEach((h, i) => {
      if (!hosts.has(h) && !isDottedQuadShape(h)) host(h, [...path, 'path', i]);
    });
    (e.rules ?? []).forEach((r, i) => {
      host(r.host, [...path, 'rules', i, 'host']);
    });
    const list = (key: 'logs' | 'noLogs' | 'commands') =>
      (e[key] ?? []).map((m, i) => matcher(m, [...path, key, i]));
    return {
      ...(e.reply !== undefined ? { reply: reply(e.reply, protocol, [...path, 'reply']) } : {}),
      ...(e.secondReply !== undefined
        ? { secondReply: reply(e.secondReply, protocol, [...path, 'secondReply']) }
        : {}),
      ...(e.path !== undefined ? { path: e.path } : {}),
      rules: (e.rules ?? []).map((r) => ({ ...r }) as RuleExpectation),
      identd,
      routes,
      ...(hopExpectations.length > 0 ? { hops: hopExpectations } : {}),
      ...(e.clientRoute !== undefined
        ? { clientRoute: e.clientRoute as NonNullable<CaseExpectations['clientRoute']> }
        : {}),
      logs: list('logs'),
      noLogs: list('noLogs'),
      commands: list('commands'),
      ...(e.received !== undefined ? { received: e.received } : {}),
      ...(e.echo !== undefined ? { echo: e.echo } : {}),
      ...(e.reached !== undefined ? { reached: e.reached } : {}),
      ...(e.elapsed !== undefined ? { elapsed: elapsedBounds(e.elapsed, [...path, 'elapsed']) } : {}),
    };
  }

  return {
    file: loaded.file,
    topology: raw.topology,
    ...(raw.description !== undefined ? { description: raw.description } : {}),
    cases,
  };
}
