import { z } from 'zod';
import { LinkFaultRaw } from '../topology/link-faults.ts';

/**
 * The scenario DSL (scenarios/*.yaml), raw stage: what a file may contain, before matrix
 * expansion and before names are checked against the topology. Every object is strict, so an
 * unknown key is an error that names its YAML path. The JSON Schema for editors is generated
 * from these definitions (scenario.schema.json), never written by hand.
 */

const HostName = z.string().min(1).describe('a host name of the topology');
const Port = z.number().int().min(0).max(65535);

/** `5000` (ms), `'5s'`, `'500ms'`. */
export const Duration = z
  .union([z.number().int().positive(), z.string().regex(/^\d+(?:\.\d+)?\s*(?:ms|s|m)$/)])
  .describe('milliseconds, or a string such as 5s, 500ms, 1m');

export const Protocol = z.enum(['socks4', 'socks4a', 'socks5']);

const Credentials = z.strictObject({ username: z.string(), password: z.string() });

/** `z:7` or `{ host: z, port: 7 }`. */
const Target = z.union([
  z
    .string()
    .regex(/^[^\s:]+:\d+$/, 'expected host:port')
    .describe('host:port'),
  z.strictObject({ host: HostName, port: Port }),
]);

const Bind = z.strictObject({
  host: z.string().describe('the application server the BIND names (0.0.0.0 = any peer)'),
  port: Port,
  peer: HostName.describe('host that connects back to the bound address').optional(),
  peerUser: z.string().optional(),
});

const IdentdBehaviourRaw = z.union([
  z.enum(['truthful', 'down', 'silent', 'garbage']),
  z.strictObject({ lying: z.string().describe('the user it names instead') }),
  z.strictObject({ error: z.enum(['NO-USER', 'HIDDEN-USER', 'UNKNOWN-ERROR']) }),
]);

const ConfigFile = z.enum(['sockd.conf', 'socks.conf', 'sockd.route']);

export const Step = z.union([
  z.strictObject({ stop: HostName }),
  z.strictObject({ start: HostName }),
  z.strictObject({ identd: z.strictObject({ host: HostName, behaviour: IdentdBehaviourRaw }) }),
  z.strictObject({
    replaceConfig: z.strictObject({
      host: HostName,
      file: ConfigFile,
      text: z.string(),
      /** What the reload should do: false for a broken text that must keep the old rules. */
      reloaded: z.boolean().optional(),
    }),
  }),
  z.strictObject({ cut: z.string().describe('network name') }),
  z.strictObject({ restore: z.string().describe('network name') }),
  z.strictObject({ wait: Duration }),
  z.strictObject({ fault: LinkFaultRaw }),
  z.strictObject({
    heal: z
      .union([z.literal('all'), z.strictObject({ host: HostName, network: z.string().optional() })])
      .describe('remove the link faults in force: all, or those on one host (and network)'),
  }),
]);

/** `identd`, `2*upstreamConnect`, `establish+500ms`, `1500ms`: a timer of the lab, a multiple, plus a margin. */
const TimerExpr = z
  .union([z.number().int().nonnegative(), z.string().min(1)])
  .describe(
    'ms, a duration, or a lab timer (identd, upstreamConnect, establish, requestRead) as [N*]timer[+duration]',
  );

const Reply = z
  .union([z.number().int().min(0).max(255), z.string()])
  .describe('granted, rejected, no-identd, bad-id, none, a SOCKS 5 name, or a number');

/** Text to find in a log line or command: a substring, or `/regex/flags`. */
const TextMatch = z.string().describe('substring, or /regex/flags');
const HostedMatch = z.union([
  TextMatch,
  z.strictObject({
    host: HostName.optional(),
    contains: z.string().optional(),
    regex: z.string().optional(),
  }),
]);

const RuleCite = z.strictObject({
  host: HostName,
  file: z.string().optional(),
  line: z.number().int().positive().optional(),
  action: z.enum(['permit', 'deny']).optional(),
  reason: z.string().optional(),
});

const Attempt = z.strictObject({ server: z.string(), ok: z.boolean() });

const RouteExpect = z.strictObject({
  host: HostName,
  action: z.enum(['deny', 'direct', 'sockd']).optional(),
  /** The upstream finally used (host name or the address as written in socks.conf). */
  server: z.string().optional(),
  file: z.string().optional(),
  line: z.number().int().positive().optional(),
  attempts: z.union([z.number().int().min(0), z.array(Attempt)]).optional(),
});

const IdentdHopExpect = z.union([
  z.string().describe('user identd attributed; "none" = no identd query at that hop'),
  z.strictObject({
    claimed: z.string().optional().describe('the USERID this hop received (a claim identd may contradict)'),
    queried: HostName.optional(),
    answer: z.string().nullable().optional(),
    user: z.string().nullable().optional(),
    verdict: z.enum(['confirmed', 'mismatch', 'unavailable']).optional(),
  }),
]);

/** What one hop received and did, beyond its rule, identd and route (split DNS, credentials, BIND). */
const HopExpect = z.strictObject({
  received: z
    .enum(['name', 'address'])
    .optional()
    .describe('the destination form this hop received: a name (SOCKS 4A / SOCKS 5 domain) or an address'),
  name: z
    .string()
    .optional()
    .describe('the name received, or the name the received address was resolved from'),
  address: z
    .string()
    .nullable()
    .optional()
    .describe('the address this hop received or resolved the name to; null = the name is unresolvable here'),
  resolvedBy: HostName.nullable()
    .optional()
    .describe(
      'the host that resolved the name (this hop, a later or earlier one, or the origin); null = none',
    ),
  claimed: z.string().optional().describe('the user this hop was told: SOCKS 4 USERID or RFC 1929 username'),
  realUser: z
    .string()
    .optional()
    .describe("the user this hop attributed the request to (identd's answer; unknown = none)"),
  secondReply: Reply.nullable().optional().describe("BIND: this hop's second reply (null = none)"),
  bound: z.string().optional().describe("BIND: the address this hop's first reply bound"),
  sockdRoute: z
    .strictObject({
      line: z.number().int().positive().nullable().optional().describe('null = no line matched'),
      text: z.string().optional().describe('the line as written (substring)'),
      address: z.string().nullable().optional().describe('the interface chosen'),
    })
    .optional()
    .describe('BIND at a multi-homed hop: the sockd.route line that chose the listening interface'),
});

export const Expect = z.strictObject({
  reply: Reply.optional(),
  secondReply: Reply.optional(),
  path: z.array(HostName).optional().describe('host names in order: origin, each hop, destination'),
  rules: z.array(RuleCite).optional().describe('the deciding rule per hop'),
  identd: z.record(z.string(), IdentdHopExpect).optional().describe('per hop: the identd attribution'),
  route: z.union([RouteExpect, z.array(RouteExpect)]).optional(),
  hops: z
    .record(z.string(), HopExpect)
    .optional()
    .describe(
      'per hop: destination form and where it resolved, claimed and real user, BIND replies and sockd.route line',
    ),
  clientRoute: z
    .strictObject({
      action: z.enum(['deny', 'direct', 'sockd']),
      line: z.number().int().positive().optional(),
    })
    .optional()
    .describe("the origin's own socks.conf decision"),
  logs: z.array(HostedMatch).optional(),
  noLogs: z.array(HostedMatch).optional(),
  commands: z.array(HostedMatch).optional(),
  received: z.string().optional().describe('exact data the origin got back'),
  echo: z.boolean().optional().describe('data came back unchanged'),
  reached: z.boolean().optional().describe('the destination saw the connection'),
  elapsed: z
    .strictObject({
      after: TimerExpr.optional().describe(
        'the request took at least this long (e.g. identd: after the identd timer)',
      ),
      before: TimerExpr.optional().describe('the request took less than this'),
    })
    .optional()
    .describe("when the probe's answer came, measured from its start, against the lab's timers"),
});

export const Matrix = z
  .strictObject({
    user: z.array(z.string()).min(1).optional(),
    from: z.array(HostName).min(1).optional(),
    target: z.array(HostName).min(1).optional(),
    port: z.array(Port).min(1).optional(),
  })
  // biome-ignore lint/suspicious/noTemplateCurlyInString: documents the DSL's own ${...} placeholders
  .describe('expand the case over every combination; ${user} ${from} ${target} ${port} are substituted');

/** Keys of a `table:` row that change the request (the rest are expectation keys, as in `expect`). */
export const TableRequestKeys = ['from', 'user', 'claim', 'protocol', 'target', 'port'] as const;

/** One row of a case's table: request dimensions plus expectations merged over the case's `expect`. */
export const TableRow = Expect.extend({
  from: HostName.optional().describe('origin host for this row'),
  user: z.string().optional().describe('user on the origin host for this row'),
  claim: z.string().optional().describe('USERID sent for this row (a forged claim)'),
  protocol: Protocol.optional(),
  target: z.string().optional().describe('destination host (connect or bind) for this row'),
  port: Port.optional().describe('destination port for this row'),
}).describe(
  'request keys (from, user, claim, protocol, target, port) and expectation keys (reply, path, rules, identd, route, ...) merged over the case expect',
);

export const Case = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  tags: z.array(z.string().min(1)).optional(),
  from: HostName.describe('origin host'),
  user: z
    .string()
    .describe(
      'user on the origin host: owns the socket, and is the SOCKS 4 USERID unless claim says otherwise',
    ),
  claim: z
    .string()
    .optional()
    .describe('USERID sent (SOCKS 4/4A) when it differs from user: a forged claim; absent = user'),
  protocol: Protocol.optional().describe('default socks4 (or the file defaults)'),
  credentials: Credentials.optional().describe('SOCKS 5 username/password'),
  via: z
    .string()
    .optional()
    .describe('first hop: host or host:port; absent or "socks.conf" = the origin\'s socks.conf'),
  connect: Target.optional(),
  bind: Bind.optional(),
  send: z.string().optional(),
  steps: z.array(Step).optional().describe('faults applied before the request'),
  cleanup: z.array(Step).optional().describe('steps applied after the request, whatever happened'),
  keep: z
    .boolean()
    .optional()
    .describe('true: configs replaced by steps stay for the next cases (default: put back after this case)'),
  matrix: Matrix.optional(),
  table: z
    .array(TableRow)
    .min(1)
    .optional()
    .describe(
      'one case per row, named `name [user=bob, port=22]`; the row expectations override expect key by key',
    ),
  timeout: Duration.optional(),
  expect: Expect.optional().describe('required unless a table gives each row its expectations'),
});

export const ScenarioFile = z.strictObject({
  topology: z.string().min(1).describe("the topology's name (or its file name)"),
  description: z.string().optional(),
  defaults: z.strictObject({ timeout: Duration.optional(), protocol: Protocol.optional() }).optional(),
  cases: z.array(Case).min(1),
});

export type RawScenarioFile = z.infer<typeof ScenarioFile>;
export type RawCase = z.infer<typeof Case>;
export type RawStep = z.infer<typeof Step>;
export type RawExpect = z.infer<typeof Expect>;
export type RawHopExpect = z.infer<typeof HopExpect>;
export type RawTableRow = z.infer<typeof TableRow>;

/** The editor schema, as committed in scenarios/scenario.schema.json. */
export function scenarioJsonSchema(): string {
  const schema = z.toJSONSchema(ScenarioFile, { io: 'input', target: 'draft-2020-12' });
  return `${JSON.stringify({ ...schema, title: 'sockslab scenario file' }, null, 2)}\n`;
}
