import type { ProbeOutcome, ProbeProtocol } from '../runtime/runtime.ts';
import type { CaseExpectations, TextMatcher } from './model.ts';
import { describeReply } from './replies.ts';
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

export function checkExpectations(
  expect: CaseExpectations,
  observed: Observation,
  protocol: ProbeProtocol,
): Failure[] {
  const failures: Failure[] = [];
  const { outcome, trace } = observed;
  const fail = (what: string, expected: unknown, actual: unknown) =>
    failures.push({ what, expected: show(expected), actual: show(actual) });
  const onPath = (host: string) => `${host} is not a hop of this request (path ${trace.path.join(' → ')})`;

  if (expect.reply !== undefined && expect.reply !== outcome.reply) {
    fail('reply', describeReply(expect.reply, protocol), describeReply(outcome.reply, protocol));
  }
  if (expect.secondReply !== undefined && expect.secondReply !== (outcome.secondReply ?? null)) {
    fail(
      'second reply',
      describeReply(expect.secondReply, protocol),
      describeReply(outcome.secondReply, protocol),
    );
  }
  if (expect.path && expect.path.join(' ') !== trace.path.join(' ')) {
    fail('path', expect.path.join(' → '), trace.path.join(' → '));
  }
  for (const r of expect.rules) {
    const hop = hopAt(trace, r.host);
    const want = `${r.action ?? ''}${r.action ? ' by ' : ''}${r.file ?? '*'}:${r.line ?? '*'}${r.reason ? ` (${r.reason})` : ''}`;
    if (!hop) {
      fail(`rule at ${r.host}`, want, onPath(r.host));
      continue;
    }
    const d = hop.decision;
    const bad =
      (r.file !== undefined && !sameFile(r.file, d.file)) ||
      (r.line !== undefined && r.line !== d.line) ||
      (r.action !== undefined && r.action !== d.action) ||
      (r.reason !== undefined && r.reason !== d.reason);
    if (bad)
      fail(
        `rule at ${r.host}`,
        want,
        `${d.action} by ${d.file ?? '(no rule)'}:${d.line ?? '-'} (${d.reason})`,
      );
  }
  for (const i of expect.identd) {
    const hop = hopAt(trace, i.host);
    if (!hop) {
      fail(`identd at ${i.host}`, i.none ? 'no identd query' : (i.user ?? i), onPath(i.host));
      continue;
    }
    if (i.claimed !== undefined && i.claimed !== hop.user)
      fail(`claimed user at ${i.host}`, i.claimed, hop.user === '' ? '(none)' : hop.user);
    const got = hop.identd;
    const onlyClaim =
      i.user === undefined && i.queried === undefined && i.answer === undefined && i.verdict === undefined;
    if (i.claimed !== undefined && onlyClaim && !i.none) continue;
    if (i.none) {
      if (got)
        fail(
          `identd at ${i.host}`,
          'no identd query',
          `asked ${got.queried}: ${got.answer ?? '(no answer)'}`,
        );
      continue;
    }
    if (!got) {
      fail(`identd at ${i.host}`, i.user ?? i, 'no identd query');
      continue;
    }
    if (i.user !== undefined && i.user !== got.user) fail(`identd user at ${i.host}`, i.user, got.user);
    if (i.queried !== undefined && i.queried !== got.queried)
      fail(`identd queried by ${i.host}`, i.queried, got.queried);
    if (i.answer !== undefined && i.answer !== got.answer)
      fail(`identd answer at ${i.host}`, i.answer, got.answer);
    if (i.verdict !== undefined && i.verdict !== got.verdict)
      fail(`identd verdict at ${i.host}`, i.verdict, got.verdict);
  }
  for (const r of expect.routes) {
    const hop = hopAt(trace, r.host);
    if (!hop) {
      fail(`route at ${r.host}`, r, onPath(r.host));
      continue;
    }
    const route = hop.route;
    if (!route) {
      fail(
        `route at ${r.host}`,
        r.action ?? 'a routing decision',
        'no routing decision (request refused earlier?)',
      );
      continue;
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
    if (typeof r.attempts === 'number' && r.attempts !== route.attempts.length) {
      fail(`upstream attempts at ${r.host}`, r.attempts, route.attempts.length);
    } else if (Array.isArray(r.attempts)) {
      const wanted = r.attempts as readonly { server: string; ok: boolean }[];
      const same =
        wanted.length === route.attempts.length &&
        wanted.every((w, k) => {
          const a = route.attempts[k]!;
          return sameServer(w.server, a) && w.ok === a.ok;
        });
      const fmt = (list: readonly { server: string; ok: boolean; host?: string }[]) =>
        list.map((a) => `${a.host ?? a.server}:${a.ok ? 'ok' : 'failed'}`).join(', ') || '(none)';
      if (!same) fail(`upstream attempts at ${r.host}`, fmt(wanted), fmt(route.attempts));
    }
  }
  for (const h of expect.hops ?? []) {
    const hop = hopAt(trace, h.host);
    if (!hop) {
      fail(`hop ${h.host}`, h, onPath(h.host));
      continue;
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
    const hopProtocol: ProbeProtocol = hop.replyVersion === 5 ? 'socks5' : 'socks4';
    if (h.secondReply !== undefined && h.secondReply !== (hop.secondReply ?? null))
      fail(
        `second reply${at}`,
        describeReply(h.secondReply, hopProtocol),
        describeReply(hop.secondReply ?? null, hopProtocol),
      );
    if (h.bound !== undefined && h.bound !== hop.bound?.address)
      fail(`BIND bound address${at}`, h.bound, hop.bound?.address ?? '(none)');
    const r = h.sockdRoute;
    if (r) {
      const got = hop.iface;
      const bad =
        !got ||
        (r.line !== undefined && r.line !== got.line) ||
        (r.address !== undefined && r.address !== got.address) ||
        (r.text !== undefined && !(got.text ?? '').includes(r.text));
      if (bad)
        fail(
          `sockd.route line${at}`,
          r,
          got
            ? `${got.file ?? 'sockd.route'}:${got.line ?? '-'} ${got.text ?? ''} → ${got.address ?? '(none)'}`
            : 'no sockd.route choice',
        );
    }
  }
  if (expect.clientRoute) {
    const got = trace.clientRoute;
    const want = expect.clientRoute;
    if (!got || got.action !== want.action || (want.line !== undefined && want.line !== got.line)) {
      fail(
        'origin socks.conf route',
        `${want.action}${want.line !== undefined ? ` (line ${want.line})` : ''}`,
        got ? `${got.action} (line ${got.line ?? '-'})` : 'socks.conf not used',
      );
    }
  }
  const linesOf = (m: TextMatcher, pick: (h: TraceHop) => readonly string[]) =>
    trace.hops
      .filter((h) => m.host === undefined || h.host === m.host)
      .flatMap((h) => pick(h).map((l) => `${h.host}: ${l}`));
  const strip = (l: string) => l.slice(l.indexOf(': ') + 2);
  for (const m of expect.logs) {
    const lines = linesOf(m, (h) => h.logs);
    if (!lines.some((l) => textMatches(m, strip(l)))) {
      fail(
        `log line${m.host ? ` on ${m.host}` : ''}`,
        m.text,
        lines.length ? lines.join('\n') : '(no log lines)',
      );
    }
  }
  for (const m of expect.noLogs) {
    const hit = linesOf(m, (h) => h.logs).filter((l) => textMatches(m, strip(l)));
    if (hit.length)
      fail(`no log line${m.host ? ` on ${m.host}` : ''}`, `nothing matching ${m.text}`, hit.join('\n'));
  }
  for (const m of expect.commands) {
    const lines = linesOf(m, (h) => h.commands);
    if (!lines.some((l) => textMatches(m, strip(l)))) {
      fail(
        `shell command${m.host ? ` on ${m.host}` : ''}`,
        m.text,
        lines.length ? lines.join('\n') : '(no commands ran)',
      );
    }
  }
  if (expect.received !== undefined && expect.received !== outcome.received)
    fail('data received', expect.received, outcome.received);
  if (expect.echo !== undefined) {
    const intact = observed.sent !== undefined && outcome.received === observed.sent;
    if (expect.echo !== intact)
      fail('data echoed intact', observed.sent ?? '(nothing sent)', outcome.received);
  }
  if (expect.reached !== undefined && expect.reached !== (trace.destination?.reached ?? false)) {
    fail('destination reached', expect.reached, trace.destination?.reached ?? false);
  }
  return failures;
}
