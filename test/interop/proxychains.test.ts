import { freshAddress, type HttpTarget, listenPort, startHttpTarget } from '../helpers/interop-net.ts';
import {
  type Daemon,
  messages,
  runTool,
  type Scratch,
  scratchDir,
  startRsockd,
  type ToolRun,
  waitForMessage,
} from '../helpers/interop-procs.ts';
import { programsInstalled, serviceName, testWhen, which } from '../helpers/interop-tools.ts';

// proxychains4 (proxychains-ng) as a SOCKS 4 client of real rsockd/sockd processes: once with
// the chain built by the client (proxychains lists two rsockd), once built by the servers
// (proxychains knows one rsockd, which cascades to a sockd by its socks.conf).

const test = testWhen('proxychains4 interop', programsInstalled('proxychains4', 'curl'));

const permitLoopback = 'permit 127.0.0.0 255.0.0.0\n';
const user = 'pcuser';
const targetName = 'target.interop.test';
const anyAddress = String.raw`127\.\d+\.\d+\.\d+`;

interface Hop {
  readonly host: string;
  readonly port: number;
  /** Default: SOCKS 4 with our USERID. */
  readonly kind?: 'socks4' | 'socks5';
  /** SOCKS 5 credentials `name password`. */
  readonly credentials?: string;
}

/** A proxychains4 configuration: strict chain, quiet, one line per hop. */
function proxychainsConf(scratch: Scratch, hops: readonly Hop[]): string {
  const lines = [
    'strict_chain',
    'quiet_mode',
    'tcp_connect_time_out 8000',
    'tcp_read_time_out 15000',
    '[ProxyList]',
    ...hops.map((h) =>
      h.kind === 'socks5'
        ? `socks5 ${h.host} ${h.port}${h.credentials ? ` ${h.credentials}` : ''}`
        : `socks4 ${h.host} ${h.port} ${user}`,
    ),
  ];
  return scratch.file('proxychains.conf', `${lines.join('\n')}\n`);
}

async function curlThroughProxychains(conf: string, target: HttpTarget): Promise<ToolRun> {
  return runTool(which('proxychains4')!, [
    '-q',
    '-f',
    conf,
    which('curl')!,
    '-sS',
    '--max-time',
    '20',
    `http://${target.host}:${target.port}/`,
  ]);
}

/** Run `body` with a scratch directory and an HTTP target, stopping every daemon it started. */
async function withLab(
  body: (lab: { scratch: Scratch; target: HttpTarget; daemons: Daemon[] }) => Promise<void>,
): Promise<void> {
  const scratch = scratchDir('proxychains');
  const target = await startHttpTarget(freshAddress());
  const daemons: Daemon[] = [];
  try {
    await body({ scratch, target, daemons });
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    await target.close();
    scratch.dispose();
  }
}

test('proxychains4 with a strict chain of two rsockd reaches the target through both, each logging its hop', async (t) => {
  await withLab(async ({ scratch, target, daemons }) => {
    const a = { host: freshAddress(), port: listenPort() };
    const b = { host: freshAddress(), port: listenPort() };
    const hosts = `${target.host} ${targetName}\n${b.host} hop-b.interop.test\n`;
    const [ra, rb] = await Promise.all([
      startRsockd({ scratch, label: 'a', ...a, sockdConf: permitLoopback, socksConf: 'direct ALL\n', hosts }),
      startRsockd({ scratch, label: 'b', ...b, sockdConf: permitLoopback, socksConf: 'direct ALL\n', hosts }),
    ]);
    daemons.push(ra.daemon, rb.daemon);
    const run = await curlThroughProxychains(proxychainsConf(scratch, [a, b]), target);
    t.is(run.exitCode, 0, `${run.command}\n${run.stderr}`);
    t.is(run.stdout, target.body);
    // Hop A was asked (by proxychains) to connect to hop B; hop B to the target.
    t.regex(
      await waitForMessage(ra.daemon, (m) => m.startsWith('connected -- ')),
      new RegExp(
        `^connected -- Connect from ${user}\\(unknown\\)@${anyAddress} to hop-b\\.interop\\.test \\(${serviceName(b.port)}\\)$`,
      ),
    );
    t.regex(
      await waitForMessage(rb.daemon, (m) => m.startsWith('connected -- ')),
      new RegExp(
        `^connected -- Connect from ${user}\\(unknown\\)@${anyAddress} to target\\.interop\\.test \\(${serviceName(target.port)}\\)$`,
      ),
    );
    t.is(target.peers.length, 1);
  });
});

// How rsockd's socks.conf names the sockd it cascades to (d.2, d.5, d.6), and the name its log
// then gives that server ("using sockd at E": the entry as written).
const cascades: ReadonlyArray<{
  how: string;
  socksConf: (b: string) => string;
  extraArgs: (b: string) => string[];
  env?: (b: string) => Record<string, string>;
  logged: (b: string) => string;
}> = [
  {
    how: 'an explicit server list',
    socksConf: (b) => `sockd @=${b} ALL\n`,
    extraArgs: () => [],
    logged: (b) => b,
  },
  {
    how: 'a server name resolved from the --hosts table',
    socksConf: () => 'sockd @=hop-b.interop.test ALL\n',
    extraArgs: () => [],
    logged: () => 'hop-b.interop.test',
  },
  {
    how: 'the default server (--default-server) for a line without a list',
    socksConf: () => 'sockd ALL\n',
    extraArgs: (b) => ['--default-server', b],
    logged: (b) => b,
  },
  {
    how: 'SOCKS_SERVER, which wins over --default-server',
    socksConf: () => 'sockd ALL\n',
    // The option names an address where nothing listens: only SOCKS_SERVER can work.
    extraArgs: () => ['--default-server', freshAddress()],
    env: (b) => ({ SOCKS_SERVER: b }),
    logged: (b) => b,
  },
];

for (const cascade of cascades) {
  test(`proxychains4 through an rsockd cascading to sockd by ${cascade.how}: the USERID is forwarded`, async (t) => {
    await withLab(async ({ scratch, target, daemons }) => {
      const a = { host: freshAddress(), port: listenPort() };
      const b = { host: freshAddress(), port: listenPort() };
      const hosts = `${target.host} ${targetName}\n${b.host} hop-b.interop.test\n`;
      const { daemon: sockd } = await startRsockd({
        program: 'sockd',
        scratch,
        label: 'b',
        ...b,
        sockdConf: permitLoopback,
        hosts,
      });
      daemons.push(sockd);
      const { daemon: rsockd } = await startRsockd({
        scratch,
        label: 'a',
        ...a,
        sockdConf: permitLoopback,
        socksConf: cascade.socksConf(b.host),
        upstreamPort: b.port,
        hosts,
        extraArgs: cascade.extraArgs(b.host),
        ...(cascade.env ? { env: cascade.env(b.host) } : {}),
      });
      daemons.push(rsockd);
      const run = await curlThroughProxychains(proxychainsConf(scratch, [a]), target);
      t.is(run.exitCode, 0, `${run.command}\n${run.stderr}`);
      t.is(run.stdout, target.body);
      const dst = `${targetName} (${serviceName(target.port)})`;
      await waitForMessage(
        rsockd,
        (m) => m === `connect() from ${user}(unknown) to ${dst} using sockd at ${cascade.logged(b.host)}`,
      );
      // sockd made the connection, for the user proxychains named to rsockd (d.8).
      t.regex(
        await waitForMessage(sockd, (m) => m.startsWith('connected -- ')),
        new RegExp(
          `^connected -- Connect from ${user}\\(unknown\\)@${anyAddress} to target\\.interop\\.test`,
        ),
      );
      t.false(
        messages(rsockd).some((m) => m.startsWith('connect() directly')),
        'rsockd did not go direct',
      );
      t.is(target.peers.length, 1);
    });
  });
}

test('proxychains4 fails when the second rsockd of its chain refuses, and only the first hop connected', async (t) => {
  await withLab(async ({ scratch, target, daemons }) => {
    const a = { host: freshAddress(), port: listenPort() };
    const b = { host: freshAddress(), port: listenPort() };
    const hosts = `${target.host} ${targetName}\n`;
    const [ra, rb] = await Promise.all([
      startRsockd({ scratch, label: 'a', ...a, sockdConf: permitLoopback, socksConf: 'direct ALL\n', hosts }),
      startRsockd({
        scratch,
        label: 'b',
        ...b,
        sockdConf: `deny 127.0.0.0 255.0.0.0 ${target.host} 255.255.255.255\n${permitLoopback}`,
        socksConf: 'direct ALL\n',
        hosts,
      }),
    ]);
    daemons.push(ra.daemon, rb.daemon);
    const run = await curlThroughProxychains(proxychainsConf(scratch, [a, b]), target);
    t.not(run.exitCode, 0);
    t.is(run.stdout, '');
    await waitForMessage(ra.daemon, (m) => m.startsWith('connected -- '));
    t.regex(
      await waitForMessage(rb.daemon, (m) => m.startsWith('refused -- ')),
      new RegExp(
        `^refused -- Connect from ${user}\\(unknown\\)@${anyAddress} to target\\.interop\\.test \\(${serviceName(target.port)}\\)$`,
      ),
    );
    t.deepEqual(target.peers, []);
  });
});

test('proxychains4 with a mixed chain: SOCKS 5 with RFC 1929 credentials to the first rsockd, SOCKS 4 to the second', async (t) => {
  await withLab(async ({ scratch, target, daemons }) => {
    const a = { host: freshAddress(), port: listenPort() };
    const b = { host: freshAddress(), port: listenPort() };
    const hosts = `${target.host} ${targetName}\n${b.host} hop-b.interop.test\n`;
    const passwd = scratch.file('a.passwd', 'frank:{plain}pc-secret\n');
    const [ra, rb] = await Promise.all([
      startRsockd({
        scratch,
        label: 'a',
        ...a,
        // Only the authenticated user may use hop A.
        sockdConf: 'permit *=frank 127.0.0.0 255.0.0.0\n',
        socksConf: 'direct ALL\n',
        hosts,
        extraArgs: ['--socks5', '--passwd', passwd, '--socks5-auth', 'required'],
      }),
      startRsockd({ scratch, label: 'b', ...b, sockdConf: permitLoopback, socksConf: 'direct ALL\n', hosts }),
    ]);
    daemons.push(ra.daemon, rb.daemon);
    const conf = proxychainsConf(scratch, [{ ...a, kind: 'socks5', credentials: 'frank pc-secret' }, b]);
    const run = await curlThroughProxychains(conf, target);
    t.is(run.exitCode, 0, `${run.command}\n${run.stderr}`);
    t.is(run.stdout, target.body);
    t.regex(
      await waitForMessage(ra.daemon, (m) => m.startsWith('connected -- ')),
      new RegExp(`^connected -- Connect from frank\\(unknown\\)@${anyAddress} to hop-b\\.interop\\.test `),
    );
    t.regex(
      await waitForMessage(rb.daemon, (m) => m.startsWith('connected -- ')),
      new RegExp(`^connected -- Connect from ${user}\\(unknown\\)@${anyAddress} to target\\.interop\\.test `),
    );
  });
});
