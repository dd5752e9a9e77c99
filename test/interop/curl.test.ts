import { freshAddress, type HttpTarget, listenPort, startHttpTarget } from '../helpers/interop-net.ts';
import {
  type Daemon,
  eventsPath,
  messages,
  runTool,
  type Scratch,
  scratchDir,
  startRsockd,
  type ToolRun,
  waitForEvent,
  waitForMessage,
} from '../helpers/interop-procs.ts';
import { programsInstalled, serviceName, testWhen, which } from '../helpers/interop-tools.ts';

// curl (Debian's) speaking each of its SOCKS dialects to the real rsockd CLI, which reaches a
// local HTTP server directly (or through a sockd). Host names come from the servers' --hosts
// fixtures, never from DNS.

const test = testWhen('curl interop', programsInstalled('curl'));

// The target's fixture line lists a primary name and an alias: an address request is logged
// with the primary name (its confirmed reverse lookup, c.6), a host-name request with the name as
// sent (b.3) — so the log shows which of the two reached rsockd.
const targetName = 'web.interop.test';
const targetAlias = 'www.interop.test';
const clientName = 'curl-client.interop.test';
const permitLoopback = 'permit 127.0.0.0 255.0.0.0\n';

type Dialect = 'socks4' | 'socks4a' | 'socks5' | 'socks5-hostname';

interface Lab {
  readonly scratch: Scratch;
  readonly target: HttpTarget;
  /** curl's source address (named `clientName` in the fixture). */
  readonly client: string;
  readonly proxy: { host: string; port: number };
  readonly rsockd: Daemon;
  /** The daemon `before` started, if any. */
  readonly upstream: Daemon | undefined;
  /** rsockd's JSON-lines events file. */
  readonly events: string;
  /** `DSTHOST (DSTSERV)` as the classic log prints the target for a name or an address request. */
  dst(by: 'address' | 'name'): string;
}

interface LabOptions {
  readonly sockdConf?: string;
  readonly socksConf?: string;
  readonly extraArgs?: readonly string[];
  /** Leave the target out of rsockd's fixture (it cannot resolve the name). */
  readonly targetUnknown?: boolean;
  /** Files to write before rsockd starts (e.g. a credentials file); gets the scratch dir. */
  readonly prepare?: (scratch: Scratch) => readonly string[];
  /** Start more daemons before rsockd (e.g. an upstream sockd), stopped with it. */
  readonly before?: (
    scratch: Scratch,
    target: HttpTarget,
  ) => Promise<{ daemon: Daemon; upstreamPort: number }>;
}

async function withCurlLab(options: LabOptions, body: (lab: Lab) => Promise<void>): Promise<void> {
  const scratch = scratchDir('curl');
  const target = await startHttpTarget(freshAddress());
  const client = freshAddress();
  const proxy = { host: freshAddress(), port: listenPort() };
  const daemons: Daemon[] = [];
  try {
    const upstream = options.before ? await options.before(scratch, target) : undefined;
    if (upstream) daemons.push(upstream.daemon);
    const targetLine = options.targetUnknown ? '' : `${target.host} ${targetName} ${targetAlias}\n`;
    const { daemon: rsockd } = await startRsockd({
      scratch,
      label: 'rsockd',
      ...proxy,
      sockdConf: options.sockdConf ?? permitLoopback,
      socksConf: options.socksConf ?? 'direct ALL\n',
      hosts: `${targetLine}${client} ${clientName}\n`,
      ...(upstream ? { upstreamPort: upstream.upstreamPort } : {}),
      extraArgs: ['--socks5', ...(options.prepare?.(scratch) ?? []), ...(options.extraArgs ?? [])],
    });
    daemons.push(rsockd);
    const dst = (by: 'address' | 'name') =>
      `${by === 'name' ? targetAlias : targetName} (${serviceName(target.port)})`;
    await body({
      scratch,
      target,
      client,
      proxy,
      rsockd,
      upstream: upstream?.daemon,
      events: eventsPath({ scratch, label: 'rsockd' }),
      dst,
    });
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    await target.close();
    scratch.dispose();
  }
}

/** curl from the lab's client address through rsockd in `dialect`, by address or by name. */
function curl(
  lab: Lab,
  dialect: Dialect,
  by: 'address' | 'name',
  proxyUser?: string,
  extra: readonly string[] = [],
): Promise<ToolRun> {
  return runTool(which('curl')!, [
    ...extra,
    '-sS',
    '--max-time',
    '20',
    '--interface',
    lab.client,
    `--${dialect}`,
    `${lab.proxy.host}:${lab.proxy.port}`,
    // SOCKS 4: the user name is the USERID; SOCKS 5: it makes curl offer username/password.
    ...(proxyUser === undefined ? [] : ['--proxy-user', proxyUser]),
    `http://${by === 'name' ? targetAlias : lab.target.host}:${lab.target.port}/`,
  ]);
}

const dialects: ReadonlyArray<{ dialect: Dialect; by: 'address' | 'name'; user: string; what: string }> = [
  {
    dialect: 'socks4',
    by: 'address',
    user: 'alice',
    what: 'fetches a page through rsockd and rsockd logs the connection with the claimed user',
  },
  {
    dialect: 'socks4a',
    by: 'name',
    user: 'bob',
    what: 'hands the host name to rsockd, which resolves it from its --hosts table',
  },
  {
    dialect: 'socks5',
    by: 'address',
    user: '',
    what: '(no authentication) fetches a page through rsockd with an empty user',
  },
  {
    dialect: 'socks5-hostname',
    by: 'name',
    user: '',
    what: 'sends a domain address that rsockd resolves from its --hosts table',
  },
];

// After the body, curl writes what it sent and received over the tunnel, so rsockd's byte
// counts can be checked against the client's own.
const sizesMark = '~~sizes ';
const writeOut = ['--write-out', `${sizesMark}%{size_request} %{size_header} %{size_download}`];

function splitSizes(stdout: string): { body: string; sent: number; received: number } {
  const at = stdout.lastIndexOf(sizesMark);
  const [request, header, download] = stdout
    .slice(at + sizesMark.length)
    .split(' ')
    .map(Number);
  return { body: stdout.slice(0, at), sent: request ?? -1, received: (header ?? 0) + (download ?? 0) };
}

for (const { dialect, by, user, what } of dialects) {
  test(`curl --${dialect} ${what}`, async (t) => {
    await withCurlLab({}, async (lab) => {
      const run = await curl(lab, dialect, by, user === '' ? undefined : `${user}:`, writeOut);
      t.is(run.exitCode, 0, `${run.command}\n${run.stderr}`);
      const { body, sent, received } = splitSizes(run.stdout);
      t.is(body, lab.target.body);
      t.is(
        await waitForMessage(lab.rsockd, (m) => m.startsWith('connected -- ')),
        `connected -- Connect from ${user}(unknown)@${clientName} to ${lab.dst(by)}`,
      );
      await waitForMessage(lab.rsockd, (m) => m.startsWith('terminated -- '));
      t.is(
        await waitForMessage(lab.rsockd, (m) => / bytes from /.test(m)),
        `${sent} bytes from ${clientName}, ${received} bytes from ${by === 'name' ? targetAlias : targetName}`,
      );
      t.is(lab.target.peers.length, 1, 'exactly one connection reached the target');
      // The same session in the structured events (--events): request as sent, rule, outbound.
      const events = lab.events;
      // (The first connection rsockd saw was the test's readiness probe: match by session.)
      const request = await waitForEvent(events, 'request');
      const same = (e: { session?: string }) => e.session === request.session;
      t.like(request, {
        version: dialect.startsWith('socks5') ? 5 : 4,
        command: 'connect',
        user,
        client: { address: lab.client },
        // A name request carries the name in dst.name (dst.host is then the wire's 0.0.0.x).
        dst:
          by === 'name'
            ? { name: targetAlias, port: lab.target.port }
            : { host: lab.target.host, port: lab.target.port },
      });
      t.like(await waitForEvent(events, 'decision', same), { action: 'permit', rule: { line: 1 } });
      t.like(await waitForEvent(events, 'outbound', same), {
        via: 'direct',
        remote: { address: lab.target.host, port: lab.target.port },
      });
      t.like(await waitForEvent(events, 'close', same), { bytesFromClient: sent, bytesFromRemote: received });
    });
  });
}

test('curl --socks4 is refused by rsockd when no sockd.conf line permits it, and the log says refused', async (t) => {
  // Only clients from 10.0.0.0/8 are permitted: the request matches no line.
  await withCurlLab({ sockdConf: 'permit 10.0.0.0 255.0.0.0\n' }, async (lab) => {
    const run = await curl(lab, 'socks4', 'address', 'carol:');
    t.not(run.exitCode, 0);
    t.regex(run.stderr, /reject|fail/i, 'curl reports the SOCKS4 refusal');
    t.is(
      await waitForMessage(lab.rsockd, (m) => m.startsWith('refused -- ')),
      `refused -- Connect from carol(unknown)@${clientName} to ${lab.dst('address')}`,
    );
    t.deepEqual(lab.target.peers, [], 'nothing reached the target');
  });
});

const credentials = (scratch: Scratch) => [
  '--passwd',
  scratch.file('sockd.passwd', '# interop credentials\ndave:{plain}s3cret\n'),
];

test('curl --socks5 with --proxy-user authenticates by RFC 1929 and rsockd logs the user name', async (t) => {
  await withCurlLab({ prepare: credentials }, async (lab) => {
    const run = await curl(lab, 'socks5', 'address', 'dave:s3cret');
    t.is(run.exitCode, 0, `${run.command}\n${run.stderr}`);
    t.is(run.stdout, lab.target.body);
    t.is(
      await waitForMessage(lab.rsockd, (m) => m.startsWith('connected -- ')),
      `connected -- Connect from dave(unknown)@${clientName} to ${lab.dst('address')}`,
    );
  });
});

test('curl --socks5 with a wrong password is turned away before any request is made', async (t) => {
  await withCurlLab({ prepare: credentials }, async (lab) => {
    const run = await curl(lab, 'socks5', 'address', 'dave:wrong');
    t.not(run.exitCode, 0);
    t.regex(run.stderr, /auth|password|user/i, 'curl reports an authentication failure');
    t.like(await waitForEvent(lab.events, 'decision', (e) => e.reason === 'auth-failed'), { action: 'deny' });
    t.deepEqual(lab.target.peers, []);
    t.false(
      messages(lab.rsockd).some((m) => m.startsWith('connected -- ')),
      'no connection was made',
    );
  });
});

test('curl --socks5-hostname with a name rsockd cannot resolve fails, and rsockd logs the failure', async (t) => {
  await withCurlLab({ targetUnknown: true }, async (lab) => {
    const run = await curl(lab, 'socks5-hostname', 'name');
    t.not(run.exitCode, 0);
    t.deepEqual(lab.target.peers, []);
    t.regex(
      await waitForMessage(lab.rsockd, (m) => m.startsWith('failed -- ')),
      new RegExp(
        `^failed -- Connect from \\(unknown\\)@${clientName.replace(/\./g, '\\.')} to ${targetAlias.replace(/\./g, '\\.')} \\(\\S+\\)\\.  Error code: gethostbyname\\(\\) `,
      ),
    );
  });
});

test('curl --socks4a to an rsockd that cannot resolve the name: rsockd passes it as 4A to sockd, which resolves it', async (t) => {
  const upstream = { host: freshAddress(), port: listenPort() };
  await withCurlLab(
    {
      targetUnknown: true,
      socksConf: `sockd @=${upstream.host} ALL\n`,
      before: async (scratch, target) => {
        const { daemon } = await startRsockd({
          program: 'sockd',
          scratch,
          label: 'sockd',
          ...upstream,
          sockdConf: permitLoopback,
          hosts: `${target.host} ${targetName} ${targetAlias}\n`,
        });
        return { daemon, upstreamPort: upstream.port };
      },
    },
    async (lab) => {
      const run = await curl(lab, 'socks4a', 'name', 'erin:');
      t.is(run.exitCode, 0, `${run.command}\n${run.stderr}`);
      t.is(run.stdout, lab.target.body);
      await waitForMessage(
        lab.rsockd,
        (m) => m === `connect() from erin(unknown) to ${lab.dst('name')} using sockd at ${upstream.host}`,
      );
      // sockd got the name (as sent, b.3) with the USERID rsockd forwarded (d.8).
      t.regex(
        await waitForMessage(lab.upstream!, (m) => m.startsWith('connected -- ')),
        new RegExp(
          `^connected -- Connect from erin\\(unknown\\)@\\S+ to ${lab.dst('name').replace(/[.()]/g, '\\$&')}$`,
        ),
      );
      t.is(lab.target.peers.length, 1);
    },
  );
});
