import type { ProbeOutcome, ProbeProtocol } from '../runtime/runtime.ts';
import type * as model from './model.ts';
import type { CaseExpectations, TextMatcher } from './model.ts';
import { describeReply, replyProtocol } from './replies.ts';
import type { Trace, TraceHop } from './trace.ts';

/**
 * The expectation checker: compares what a case expected with what was observed (the probe's
 * outcome and the stitched trace). Every mismatch is one Failure saying what, expected, actual.
 */

export interface Failure {
  /** What was checked, e.g. `reply`, `rule at B`, `identd at A`. */
  readonly what: string;
  readonly expected: string;
  readonly actual: string;
}

export interface Observation {
  readonly outcome: ProbeOutcome;
  readonly trace: Trace;
  /** What the origin sent (for `echo`). */
  readonly sent?: string;
}

const show = (v: unknown): string =>
  v === undefined ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v);

/** `sockd.conf` matches `/etc/sockd.conf` and `topologies/x/B/sockd.conf`. */
export function sameFile(expected: string, actual: string | null): boolean {
  if (actual === null) return false;
  return actual === expected || actual.endsWith(`/${expected}`) || expected.endsWith(`/${actual}`);
}

export function textMatches(m: TextMatcher, text: string): boolean {
  if (m.regex) return new RegExp(m.regex.source, m.regex.flags).test(text);
  return text.includes(m.contains ?? '');
}

function hopAt(trace: Trace, host: string): TraceHop | undefined {
  return trace.hops.find((h) => h.host === host);
}

/** The upstream a hop finally used: its successful attempt, else where its outbound went. */
export function serverUsed(hop: TraceHop): string | undefined {
  const ok = hop.route?.attempts.find((a) => a.ok);
  if (ok) return ok.host ?? ok.server;
  return hop.route?.action === 'sockd' ? hop.outbound?.to : undefined;
}

const sameServer = (expected: string, a: { server: string; host?: string }) =>
  a.server === expected || a.host === expected;

/** One case being checked: what was observed, and where each step records a mismatch. */
interface Checking {
  readonly outcome: ProbeOutcome;
  readonly trace: Trace;
  /** What the origin sent (for `echo`). */
  readonly sent: string | undefined;
  readonly protocol: ProbeProtocol;
  fail(what: string, expected: unknown, actual: unknown): void;
}

/**
 * Every expectation of the case against the observation, in the order the failures are listed:
 * replies, path, per-hop rules, identd, routes and hop details, the origin's route, log and
 * command lines, then the data.
 */
export function checkExpectations(
  expect: CaseExpectations,
  observed: Observation,
  protocol: ProbeProtocol,
): Failure[] {
  const failures: Failure[] = [];
  const c: Checking = {
    outcome: observed.outcome,
    trace: observed.trace,
    sent: observed.sent,
    protocol,
    fail: (what, expected, actual) => failures.push({ what, expected: show(expected), actual: show(actual) }),
  };
  checkReplies(expect, c);
  checkPath(expect, c);
  for (const r of expect.rules) checkRule(r, c);
  for (const i of expect.identd) checkIdentd(i, c);
  for (const r of expect.routes) checkRoute(r, c);
  for (const h of expect.hops ?? []) checkHop(h, c);
  checkClientRoute(expect, c);
  checkLines(expect, c);
  checkData(expect, c);
  return failures;
}

/** The actual value of an expectation about a host the request never passed. */
const notOnPath = (c: Checking, host: string) =>
  `${host} is not a hop of this request (path ${c.trace.path.join(' → ')})`;

function checkReplies(expect: CaseExpectations, c: Checking): void {
  const { outcome, protocol } = c;
  if (expect.reply !== undefined && expect.reply !== outcome.reply) {
    c.fail('reply', describeReply(expect.reply, protocol), describeReply(outcome.reply, protocol));
  }
  if (expect.secondReply !== undefined && expect.secondReply !== (outcome.secondReply ?? null)) {
    c.fail(
      'second reply',
      describeReply(expect.secondReply, protocol),
      describeReply(outcome.secondReply, protocol),
    );
  }
}

function checkPath(expect: CaseExpectations, c: Checking): void {
  if (expect.path && expect.path.join(' ') !== c.trace.path.join(' ')) {
    c.fail('path', expect.path.join(' → '), c.trace.path.join(' → '));
  }
}

/** `rules:` — the sockd.conf line (file, line, action, reason) that decided at a hop. */
function checkRule(r: model.RuleExpectation, c: Checking): void {
  const hop = hopAt(c.trace, r.host);
  const want = `${r.action ?? ''}${r.action ? ' by ' : ''}${r.file ?? '*'}:${r.line ?? '*'}${r.reason ? ` (${r.reason})` : ''}`;
  if (!hop) {
    c.fail(`rule at ${r.host}`, want, notOnPath(c, r.host));
    return;
  }
  const d = hop.decision;
  const bad =
    (r.file !== undefined && !sameFile(r.file, d.file)) ||
    (r.line !== undefined && r.line !== d.line) ||
    (r.action !== undefined && r.action !== d.action) ||
    (r.reason !== undefined && r.reason !== d.reason);
  if (bad)
    c.fail(
      `rule at ${r.host}`,
      want,
      `${d.action} by ${d.file ?? '(no rule)'}:${d.line ?? '-'} (${d.reason})`,
    );
}

/** `identd:` — the user a hop was told, whether and whom it asked, the answer and its verdict. */
function checkIdentd(i: model.IdentdExpectation, c: Checking): void {
  const { fail } = c;
  const hop = hopAt(c.trace, i.host);
  if (!hop) {
    fail(`identd at ${i.host}`, i.none ? 'no identd query' : (i.user ?? i), notOnPath(c, i.host));
    return;
  }
  if (i.claimed !== undefined && i.claimed !== hop.user)
    fail(`claimed user at ${i.host}`, i.claimed, hop.user === '' ? '(none)' : hop.user);
  const got = hop.identd;
  const onlyClaim =
    i.user === undefined && i.queried === undefined && i.answer === undefined && i.verdict === undefined;
  if (i.claimed !== undefined && onlyClaim && !i.none) return;
  if (i.none) {
    if (got)
      fail(`identd at ${i.host}`, 'no identd query', `asked ${got.queried}: ${got.answer ?? '(no answer)'}`);
    return;
  }
  if (!got) {
    fail(`identd at ${i.host}`, i.user ?? i, 'no identd query');
    return;
  }
  if (i.user !== undefined && i.user !== got.user) fail(`identd user at ${i.host}`, i.user, got.user);
  if (i.queried !== undefined && i.queried !== got.queried)
    fail(`identd queried by ${i.host}`, i.queried, got.queried);
  if (i.answer !== undefined && i.answer !== got.answer)
    fail(`identd answer at ${i.host}`, i.answer, got.answer);
  if (i.verdict !== undefined && i.verdict !== got.verdict)
    fail(`identd verdict at ${i.host}`, i.verdict, got.verdict);
}

/** `routes:` — an rsockd hop's socks.conf decision, the upstream it used and its attempts. */
function checkRoute(r: model.RouteExpectation, c: Checking): void {
  const { fail } = c;
  const hop = hopAt(c.trace, r.host);
  if (!hop) {
    fail(`route at ${r.host}`, r, notOnPath(c, r.host));
    return;
  }
  const route = hop.route;
  if (!route) {
    fail(
      `route at ${r.host}`,
      r.action ?? 'a routing decision',
      'no routing decision (request refused earlier?)',
    );
    return;
  }
  if (r.action !== undefined && r.action !== route.action)
    fail(`route action at ${r.host}`, r.action, route.action);
  if (r.file !== undefined && !sameFile(r.file, route.file))
    fail(`route file at ${r.host}`, r.file, route.file);
  if (r.line !== undefined && r.line !== route.line) fail(`route line at ${r.host}`, r.line, route.line);
  if (r.server !== undefined) {
    const ok = route.attempts.find((a) => a.ok);
    const used = ok ? sameServer(r.server, ok) : hop.outbound?.to === r.server;
    if (!used) fail(`upstream used by ${r.host}`, r.server, serverUsed(hop) ?? 'none');
  }
  if (r.attempts !== undefined) checkAttempts(r.host, r.attempts, route.attempts, c);
}

type Attempt = NonNullable<TraceHop['route']>['attempts'][number];

/** `attempts:` — how many upstream servers were tried, or which ones in order and how each went. */
function checkAttempts(
  host: string,
  wanted: NonNullable<model.RouteExpectation['attempts']>,
  attempts: readonly Attempt[],
  c: Checking,
): void {
  if (typeof wanted === 'number') {
    if (wanted !== attempts.length) c.fail(`upstream attempts at ${host}`, wanted, attempts.length);
    return;
  }
  const same =
    wanted.length === attempts.length &&
    wanted.every((w, k) => {
      const a = attempts[k]!;
      return sameServer(w.server, a) && w.ok === a.ok;
    });
  const fmt = (list: readonly { server: string; ok: boolean; host?: string }[]) =>
    list.map((a) => `${a.host ?? a.server}:${a.ok ? 'ok' : 'failed'}`).join(', ') || '(none)';
  if (!same) c.fail(`upstream attempts at ${host}`, fmt(wanted), fmt(attempts));
}

/** `hops:` — what a hop received as destination, its users, second reply, BIND address, route line. */
function checkHop(h: model.HopExpectation, c: Checking): void {
  const { fail } = c;
  const hop = hopAt(c.trace, h.host);
  if (!hop) {
    fail(`hop ${h.host}`, h, notOnPath(c, h.host));
    return;
  }
  const d = hop.destination;
  const at = ` at ${h.host}`;
  if (h.received !== undefined && h.received !== d?.received)
    fail(`destination received${at}`, h.received, d?.received ?? '(unknown)');
  if (h.name !== undefined && h.name.toLowerCase() !== d?.name?.toLowerCase())
    fail(`destination name${at}`, h.name, d?.name ?? '(none)');
  if (h.address !== undefined && h.address !== (d?.address ?? null))
    fail(`destination address${at}`, h.address ?? 'unresolvable here', d?.address ?? 'unresolvable here');
  if (h.resolvedBy !== undefined && h.resolvedBy !== (d?.resolvedBy ?? null))
    fail(`name resolved by (seen${at})`, h.resolvedBy ?? 'nobody', d?.resolvedBy ?? 'nobody');
  if (h.claimed !== undefined && h.claimed !== hop.user)
    fail(`claimed user${at}`, h.claimed, hop.user === '' ? '(none)' : hop.user);
  if (h.realUser !== undefined && h.realUser !== hop.realUser)
    fail(`real user${at}`, h.realUser, hop.realUser ?? '(no decision)');
  const hopProtocol = replyProtocol(hop.replyVersion);
  if (h.secondReply !== undefined && h.secondReply !== (hop.secondReply ?? null))
    fail(
      `second reply${at}`,
      describeReply(h.secondReply, hopProtocol),
      describeReply(hop.secondReply ?? null, hopProtocol),
    );
  if (h.bound !== undefined && h.bound !== hop.bound?.address)
    fail(`BIND bound address${at}`, h.bound, hop.bound?.address ?? '(none)');
  if (h.sockdRoute) checkSockdRoute(h.sockdRoute, hop, at, c);
}

/** `hops[].sockdRoute:` — the sockd.route line a multi-homed hop chose its interface by. */
function checkSockdRoute(
  r: NonNullable<model.HopExpectation['sockdRoute']>,
  hop: TraceHop,
  at: string,
  c: Checking,
): void {
  const got = hop.iface;
  const bad =
    !got ||
    (r.line !== undefined && r.line !== got.line) ||
    (r.address !== undefined && r.address !== got.address) ||
    (r.text !== undefined && !(got.text ?? '').includes(r.text));
  if (bad)
    c.fail(
      `sockd.route line${at}`,
      r,
      got
        ? `${got.file ?? 'sockd.route'}:${got.line ?? '-'} ${got.text ?? ''} → ${got.address ?? '(none)'}`
        : 'no sockd.route choice',
    );
}

/** `clientRoute:` — how the origin's own socks.conf routed the request. */
function checkClientRoute(expect: CaseExpectations, c: Checking): void {
  const want = expect.clientRoute;
  if (!want) return;
  const got = c.trace.clientRoute;
  if (!got || got.action !== want.action || (want.line !== undefined && want.line !== got.line)) {
    c.fail(
      'origin socks.conf route',
      `${want.action}${want.line !== undefined ? ` (line ${want.line})` : ''}`,
      got ? `${got.action} (line ${got.line ?? '-'})` : 'socks.conf not used',
    );
  }
}

/** `logs:`, `noLogs:`, `commands:` — lines the hops logged or ran, matched on any (or one) host. */
function checkLines(expect: CaseExpectations, c: Checking): void {
  const linesOf = (m: TextMatcher, pick: (h: TraceHop) => readonly string[]) =>
    c.trace.hops
      .filter((h) => m.host === undefined || h.host === m.host)
      .flatMap((h) => pick(h).map((l) => `${h.host}: ${l}`));
  const strip = (l: string) => l.slice(l.indexOf(': ') + 2);
  const onHost = (m: TextMatcher) => (m.host ? ` on ${m.host}` : '');
  const present = (
    matchers: readonly TextMatcher[],
    pick: (h: TraceHop) => readonly string[],
    what: string,
    none: string,
  ) => {
    for (const m of matchers) {
      const lines = linesOf(m, pick);
      if (!lines.some((l) => textMatches(m, strip(l))))
        c.fail(`${what}${onHost(m)}`, m.text, lines.length ? lines.join('\n') : none);
    }
  };
  present(expect.logs, (h) => h.logs, 'log line', '(no log lines)');
  for (const m of expect.noLogs) {
    const hit = linesOf(m, (h) => h.logs).filter((l) => textMatches(m, strip(l)));
    if (hit.length) c.fail(`no log line${onHost(m)}`, `nothing matching ${m.text}`, hit.join('\n'));
  }
  present(expect.commands, (h) => h.commands, 'shell command', '(no commands ran)');
}

/** `received:`, `echo:`, `reached:` — what came back to the origin and whether the destination saw it. */
function checkData(expect: CaseExpectations, c: Checking): void {
  const { outcome, trace } = c;
  if (expect.received !== undefined && expect.received !== outcome.received)
    c.fail('data received', expect.received, outcome.received);
  if (expect.echo !== undefined) {
    const intact = c.sent !== undefined && outcome.received === c.sent;
    if (expect.echo !== intact) c.fail('data echoed intact', c.sent ?? '(nothing sent)', outcome.received);
  }
  if (expect.reached !== undefined && expect.reached !== (trace.destination?.reached ?? false)) {
    c.fail('destination reached', expect.reached, trace.destination?.reached ?? false);
  }
}
