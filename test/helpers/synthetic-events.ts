import type { Endpoint, LabEvent } from '../../src/common/events.ts';

/**
 * Synthetic server/identd/echo events for the seed cascade (C → B → A → z, spec g.7), written
 * the way the servers emit them, so stitching, expectations and reports are tested without a
 * runtime. Each hop is described once and expanded into its event sequence.
 */

export const ep = (address: string, port: number): Endpoint => ({ address, port });

export interface HopScript {
  readonly host: string;
  readonly service: 'rsockd' | 'sockd';
  readonly session: string;
  readonly client: Endpoint;
  readonly local: Endpoint;
  readonly user: string;
  readonly dst: Endpoint;
  readonly decision: { action: 'permit' | 'deny'; line: number | null; reason?: string; realUser?: string };
  readonly identd?: {
    queried: Endpoint;
    answer: string | null;
    user?: string;
    verdict: 'confirmed' | 'mismatch' | 'unavailable';
  };
  readonly route?: { action: 'deny' | 'direct' | 'sockd'; line: number; servers: string[] };
  readonly attempts?: { server: string; address: string; ok: boolean; error?: string }[];
  readonly outbound?: { local: Endpoint; remote: Endpoint; via?: 'direct' | 'upstream' | 'bind' };
  readonly reply: number;
  readonly logs?: string[];
  readonly commands?: string[];
}

export function hopEvents(h: HopScript, t0: number): LabEvent[] {
  let t = t0;
  const base = () => ({ t: t++, host: h.host, service: h.service, session: h.session });
  const out: LabEvent[] = [
    {
      ...base(),
      type: 'request',
      client: h.client,
      local: h.local,
      version: 4,
      command: 'connect',
      dst: { host: h.dst.address, port: h.dst.port },
      user: h.user,
    },
  ];
  if (h.identd) out.push({ ...base(), type: 'identd', ...h.identd });
  out.push({
    ...base(),
    type: 'decision',
    action: h.decision.action,
    rule: h.decision.line === null ? null : { file: 'sockd.conf', line: h.decision.line },
    reason: (h.decision.reason ?? (h.decision.line === null ? 'no-match' : 'rule')) as 'rule',
    user: h.user,
    realUser: h.decision.realUser ?? 'unknown',
  });
  for (const c of h.commands ?? [])
    out.push({
      ...base(),
      type: 'command',
      origin: 'rule',
      rule: null,
      command: c,
      status: 'ran',
      exitCode: 0,
    });
  if (h.route)
    out.push({
      ...base(),
      type: 'route',
      action: h.route.action,
      rule: { file: 'socks.conf', line: h.route.line },
      servers: h.route.servers,
    });
  for (const a of h.attempts ?? []) {
    out.push({
      ...base(),
      type: 'upstream-attempt',
      server: a.server,
      address: a.address,
      port: 1080,
      ok: a.ok,
      ...(a.error ? { error: a.error } : {}),
    });
  }
  if (h.outbound)
    out.push({
      ...base(),
      type: 'outbound',
      local: h.outbound.local,
      remote: h.outbound.remote,
      via: h.outbound.via ?? 'direct',
    });
  out.push({ ...base(), type: 'reply', version: 4, code: h.reply, phase: 'only' });
  for (const l of h.logs ?? []) out.push({ ...base(), type: 'log', level: 'notice', message: l });
  return out;
}

const C = ep('10.1.0.10', 40001);
const B = ep('10.1.0.1', 1080);
const Bout = ep('10.2.0.2', 40002);
const A = ep('10.2.0.1', 1080);
const Aout = ep('198.51.100.1', 40003);

/** x on C → B (identd on C says x) → A (?=n, no identd) → z:7, echo. */
export function grantedCascade(t0 = 1_000): LabEvent[] {
  const z = ep('198.51.100.10', 7);
  return [
    ...hopEvents(
      {
        host: 'B',
        service: 'rsockd',
        session: 'b1',
        client: C,
        local: B,
        user: 'x',
        dst: z,
        decision: { action: 'permit', line: 2, realUser: 'x' },
        identd: {
          queried: ep('10.1.0.10', 113),
          answer: '40001 , 1080 : USERID : UNIX : x',
          user: 'x',
          verdict: 'confirmed',
        },
        route: { action: 'sockd', line: 3, servers: ['10.2.0.1'] },
        attempts: [{ server: '10.2.0.1', address: '10.2.0.1', ok: true }],
        outbound: { local: Bout, remote: A, via: 'upstream' },
        reply: 90,
        logs: ['connect() from x(x)@10.1.0.10 to 198.51.100.10 (echo) using sockd at 10.2.0.1'],
      },
      t0,
    ),
    {
      t: t0 + 1,
      host: 'C',
      service: 'identd',
      type: 'identd-served',
      peer: ep('10.1.0.1', 50000),
      query: '40001 , 1080',
      answer: '40001 , 1080 : USERID : UNIX : x',
      behaviour: 'truthful',
    },
    ...hopEvents(
      {
        host: 'A',
        service: 'sockd',
        session: 'a1',
        client: Bout,
        local: A,
        user: 'x',
        dst: z,
        decision: { action: 'permit', line: 2 },
        outbound: { local: Aout, remote: z },
        reply: 90,
        logs: ['connected -- Connect from x(unknown)@10.2.0.2 to 198.51.100.10 (echo)'],
      },
      t0 + 20,
    ),
    { t: t0 + 40, host: 'z', service: 'echo', type: 'echo', peer: Aout, local: z, kind: 'echo', bytes: 5 },
  ];
}

/** x on C → B → A:80, where A asks identd on B, hears `nobody`, refuses 93; B answers C with 91. */
export function badIdAtA(t0 = 1_000): LabEvent[] {
  const z = ep('198.51.100.10', 80);
  return [
    ...hopEvents(
      {
        host: 'B',
        service: 'rsockd',
        session: 'b2',
        client: C,
        local: B,
        user: 'x',
        dst: z,
        decision: { action: 'permit', line: 2, realUser: 'x' },
        identd: {
          queried: ep('10.1.0.10', 113),
          answer: '40001 , 1080 : USERID : UNIX : x',
          user: 'x',
          verdict: 'confirmed',
        },
        route: { action: 'sockd', line: 3, servers: ['10.2.0.1'] },
        attempts: [{ server: '10.2.0.1', address: '10.2.0.1', ok: true }],
        outbound: { local: Bout, remote: A, via: 'upstream' },
        reply: 91,
      },
      t0,
    ),
    ...hopEvents(
      {
        host: 'A',
        service: 'sockd',
        session: 'a2',
        client: Bout,
        local: A,
        user: 'x',
        dst: z,
        decision: { action: 'deny', line: 4, reason: 'identd-mismatch' },
        identd: {
          queried: ep('10.2.0.2', 113),
          answer: '40002 , 1080 : USERID : UNIX : nobody',
          user: 'nobody',
          verdict: 'mismatch',
        },
        reply: 93,
        logs: [
          'refused -- Connect from x(nobody)@10.2.0.2 to 198.51.100.10 (http)',
          '*Alert*: real user is nobody, not x',
        ],
      },
      t0 + 20,
    ),
  ];
}

/** B's socks.conf lists two upstreams; the first refuses the TCP connection, the second carries it. */
export function failoverAtB(t0 = 1_000): LabEvent[] {
  const z = ep('198.51.100.10', 7);
  return hopEvents(
    {
      host: 'B',
      service: 'rsockd',
      session: 'b3',
      client: C,
      local: B,
      user: 'x',
      dst: z,
      decision: { action: 'permit', line: 2, realUser: 'x' },
      route: { action: 'sockd', line: 3, servers: ['10.2.0.9', '10.2.0.1'] },
      attempts: [
        { server: '10.2.0.9', address: '10.2.0.9', ok: false, error: 'ECONNREFUSED' },
        { server: '10.2.0.1', address: '10.2.0.1', ok: true },
      ],
      outbound: { local: Bout, remote: A, via: 'upstream' },
      reply: 90,
    },
    t0,
  );
}
