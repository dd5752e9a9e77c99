import { connect as tcpConnect } from 'node:net';
import type { ExecutionContext } from 'ava';
import { freshAddress, type HttpTarget, listenPort, startHttpTarget } from '../helpers/interop-net.ts';
import {
  type Daemon,
  eventsPath,
  messages,
  runTool,
  type Scratch,
  scratchDir,
  startDaemon,
  startRsockd,
  type ToolRun,
  waitForEvent,
  waitForMessage,
} from '../helpers/interop-procs.ts';
import { programsInstalled, serviceName, testWhen, which } from '../helpers/interop-tools.ts';

// Dante's client library (socksify) wrapping a plain curl, routed to the real rsockd CLI by a
// dante.conf of our own. Dante 1.4 sends an empty USERID, so rsockd sees user "" on these.

const test = testWhen('socksify interop', programsInstalled('socksify', 'curl'));
// The BIND tests need a listening program whose accept() Dante wraps: a few lines of Perl.
const bindTest = testWhen('socksify BIND interop', programsInstalled('socksify', 'perl'));

const targetName = 'target.interop.test';

/** A Dante client configuration sending every TCP connection via one server. */
function danteClientConf(
  scratch: Scratch,
  proxy: { host: string; port: number },
  protocol: string,
  /** The route's SOCKS 5 method (the client's keyword is `method:`); by default it offers "none". */
  method?: 'username',
): string {
  return scratch.file(
    'dante.conf',
    // One keyword per line: Dante's parser rejects some of them run together on one line.
    [
      'route {',
      `  from: 0.0.0.0/0 to: 0.0.0.0/0 via: ${proxy.host} port = ${proxy.port}`,
      `  proxyprotocol: ${protocol}`,
      ...(method ? [`  method: ${method}`] : []),
      '}',
      '',
    ].join('\n'),
  );
}

/**
 * `socksify curl URL`. No --interface: Dante makes the proxy connection on a socket of its own,
 * so the source is the kernel's choice (127.0.0.1 on loopback).
 */
function socksifiedCurl(
  conf: string,
  target: HttpTarget,
  env: Record<string, string> = {},
): Promise<ToolRun> {
  return runTool(
    which('socksify')!,
    [which('curl')!, '-sS', '--max-time', '20', `http://${target.host}:${target.port}/`],
    { env: { ...danteEnv(conf), ...env } },
  );
}

function danteEnv(conf: string): Record<string, string> {
  return {
    SOCKS_CONF: conf,
    // Dante adds a direct route for every local network (127.0.0.0/8 included) and tries
    // direct routes first; without this the request would never reach rsockd.
    SOCKS_AUTOADD_LANROUTES: 'no',
    SOCKS_DIRECTROUTE_FALLBACK: 'no',
  };
}

interface Lab {
  readonly scratch: Scratch;
  readonly target: HttpTarget;
  readonly rsockd: Daemon;
  readonly proxy: { host: string; port: number };
  /** The sockd rsockd cascades to, when asked for one. */
  readonly upstream: { readonly daemon: Daemon; readonly host: string } | undefined;
  /** rsockd's JSON-lines events file. */
  readonly events: string;
}

interface LabOptions {
  readonly sockdConf?: (target: HttpTarget) => string;
  readonly socks5?: boolean;
  /** RFC 1929 credentials file text for rsockd (`--passwd`, authentication required). */
  readonly passwd?: string;
  /** rsockd sends everything on to a sockd of its own (socks.conf `sockd @=…`). */
  readonly cascade?: boolean;
}

async function withRsockd(
  t: ExecutionContext,
  options: LabOptions,
  body: (lab: Lab) => Promise<void>,
): Promise<void> {
  const scratch = scratchDir('socksify');
  const target = await startHttpTarget(freshAddress());
  const proxy = { host: freshAddress(), port: listenPort() };
  const daemons: Daemon[] = [];
  try {
    let upstream: Lab['upstream'];
    let upstreamPort: number | undefined;
    if (options.cascade) {
      const at = { host: freshAddress(), port: listenPort() };
      const { daemon } = await startRsockd({
        program: 'sockd',
        scratch,
        label: 'sockd',
        ...at,
        sockdConf: 'permit 127.0.0.0 255.0.0.0\n',
        hosts: `${target.host} ${targetName}\n`,
      });
      daemons.push(daemon);
      upstream = { daemon, host: at.host };
      upstreamPort = at.port;
    }
    const { daemon: rsockd } = await startRsockd({
      scratch,
      label: 'rsockd',
      ...proxy,
      sockdConf: (options.sockdConf ?? permitLoopback)(target),
      socksConf: upstream ? `sockd @=${upstream.host} ALL\n` : 'direct ALL\n',
      hosts: `${target.host} ${targetName}\n`,
      ...(upstreamPort === undefined ? {} : { upstreamPort }),
      extraArgs: [
        ...(options.socks5 ? ['--socks5'] : []),
        ...(options.passwd === undefined
          ? []
          : ['--passwd', scratch.file('sockd.passwd', options.passwd), '--socks5-auth', 'required']),
      ],
    });
    daemons.push(rsockd);
    await body({
      scratch,
      target,
      rsockd,
      proxy,
      upstream,
      events: eventsPath({ scratch, label: 'rsockd' }),
    });
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    await target.close();
    scratch.dispose();
  }
  t.pass();
}

/** `WHAT -- Connect from (unknown)@<a loopback address> to target (port)`: empty SRCUSER. */
function logLine(what: 'connected' | 'refused', target: HttpTarget): RegExp {
  const dst = `${targetName} (${serviceName(target.port)})`.replace(/[.()]/g, '\\$&');
  return new RegExp(`^${what} -- Connect from \\(unknown\\)@127\\.\\d+\\.\\d+\\.\\d+ to ${dst}$`);
}

const permitLoopback = () => 'permit 127.0.0.0 255.0.0.0\n';

test('socksify curl reaches the target through rsockd over SOCKS 4, with the empty USERID Dante sends', async (t) => {
  await withRsockd(t, {}, async ({ scratch, target, rsockd, proxy }) => {
    const run = await socksifiedCurl(danteClientConf(scratch, proxy, 'socks_v4'), target);
    t.is(run.exitCode, 0, `${run.command}\n${run.stderr}`);
    t.is(run.stdout, target.body);
    t.regex(await waitForMessage(rsockd, (m) => m.startsWith('connected -- ')), logLine('connected', target));
    t.is(target.peers.length, 1);
  });
});

test('socksify curl reaches the target through rsockd over SOCKS 5 without authentication', async (t) => {
  await withRsockd(t, { socks5: true }, async ({ scratch, target, rsockd, proxy }) => {
    const run = await socksifiedCurl(danteClientConf(scratch, proxy, 'socks_v5'), target);
    t.is(run.exitCode, 0, `${run.command}\n${run.stderr}`);
    t.is(run.stdout, target.body);
    t.regex(await waitForMessage(rsockd, (m) => m.startsWith('connected -- ')), logLine('connected', target));
  });
});

test('socksify curl authenticates to rsockd with RFC 1929 (Dante method username) and rsockd logs the user', async (t) => {
  const options = { socks5: true, passwd: 'gina:{plain}dante-pw\n' };
  await withRsockd(t, options, async ({ scratch, target, rsockd, proxy }) => {
    const conf = danteClientConf(scratch, proxy, 'socks_v5', 'username');
    const run = await socksifiedCurl(conf, target, { SOCKS_USERNAME: 'gina', SOCKS_PASSWORD: 'dante-pw' });
    t.is(run.exitCode, 0, `${run.command}\n${run.stderr}`);
    t.is(run.stdout, target.body);
    t.regex(
      await waitForMessage(rsockd, (m) => m.startsWith('connected -- ')),
      /^connected -- Connect from gina\(unknown\)@127\.\d+\.\d+\.\d+ to /,
    );
  });
});

test('socksify curl with a wrong RFC 1929 password gets nothing through rsockd', async (t) => {
  const options = { socks5: true, passwd: 'gina:{plain}dante-pw\n' };
  await withRsockd(t, options, async ({ scratch, target, rsockd, proxy, events }) => {
    const conf = danteClientConf(scratch, proxy, 'socks_v5', 'username');
    const run = await socksifiedCurl(conf, target, { SOCKS_USERNAME: 'gina', SOCKS_PASSWORD: 'wrong' });
    t.not(run.exitCode, 0);
    // Dante did offer username/password, and rsockd turned the credentials down.
    t.like(await waitForEvent(events, 'decision', (e) => e.reason === 'auth-failed'), { action: 'deny' });
    t.deepEqual(target.peers, []);
    t.false(messages(rsockd).some((m) => m.startsWith('connected -- ')));
  });
});

test('socksify curl fails when rsockd denies the destination, and rsockd logs the refusal', async (t) => {
  const deny = (target: HttpTarget) =>
    `deny 127.0.0.0 255.0.0.0 ${target.host} 255.255.255.255\npermit 127.0.0.0 255.0.0.0\n`;
  await withRsockd(t, { sockdConf: deny }, async ({ scratch, target, rsockd, proxy }) => {
    const run = await socksifiedCurl(danteClientConf(scratch, proxy, 'socks_v4'), target);
    t.not(run.exitCode, 0);
    t.is(run.stdout, '');
    t.regex(await waitForMessage(rsockd, (m) => m.startsWith('refused -- ')), logLine('refused', target));
    t.deepEqual(target.peers, [], 'Dante did not fall back to a direct connection');
  });
});

// A listening program, as an FTP client in active mode is: bind, listen, print the address it
// got, accept one connection, greet, read one line. Under socksify, Dante turns bind/listen/
// accept into a SOCKS 4 BIND on rsockd. (Perl: its accept() is libc's accept, which Dante
// wraps; Python's accept4() is not wrapped.)
const listeningProgram = `use strict; use Socket; use IO::Handle;
$| = 1;
socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
bind($s, pack_sockaddr_in(0, INADDR_ANY)) or die "bind: $!";
listen($s, 1) or die "listen: $!";
my ($port, $addr) = unpack_sockaddr_in(getsockname($s));
print "BOUND ", inet_ntoa($addr), " $port\\n";
accept(my $c, $s) or die "accept: $!";
$c->autoflush(1);
print $c "hello from the listener\\n";
my $line = <$c>;
print "GOT $line";
`;

/** Connect from \`from\` to host:port, read one line, answer \`answer\`, close. */
function peerExchange(
  from: string,
  host: string,
  port: number,
  answer: string,
): Promise<{ heard: string; port: number }> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host, port, localAddress: from });
    let heard = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`peer heard only ${JSON.stringify(heard)}`));
    }, 20_000);
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      heard += chunk;
      if (heard.includes('\n')) {
        clearTimeout(timer);
        const localPort = s.localPort ?? 0;
        s.end(answer);
        resolve({ heard, port: localPort });
      }
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * Run the listening program under socksify against the lab's rsockd, play the peer from a fresh
 * address, and check rsockd's BIND log lines.
 */
async function bindThrough(
  t: ExecutionContext,
  lab: Lab,
  protocol: 'socks_v4' | 'socks_v5' = 'socks_v4',
): Promise<void> {
  const conf = danteClientConf(lab.scratch, lab.proxy, protocol);
  const program = lab.scratch.file('listener.pl', listeningProgram);
  const { daemon: listener } = await startDaemon({
    name: 'socksify perl listener',
    file: which('socksify')!,
    args: [which('perl')!, program],
    env: danteEnv(conf),
    ready: { line: (l) => l.startsWith('BOUND ') },
  });
  try {
    const bound = /^BOUND (\S+) (\d+)$/.exec(await listener.waitForLine((l) => l.startsWith('BOUND ')));
    // SOCKS 4: rsockd answered 0.0.0.0 (single-homed, b.5.1) and Dante put in the server's
    // address; SOCKS 5: rsockd answered its client-facing address itself (i.3).
    t.is(bound?.[1], lab.proxy.host);
    const peer = freshAddress();
    const got = await peerExchange(peer, bound![1]!, Number(bound![2]), 'pong\n');
    t.is(got.heard, 'hello from the listener\n');
    await listener.waitForLine((l) => l === 'GOT pong');
    const server = lab.rsockd;
    t.regex(
      await waitForMessage(server, (m) => m.startsWith('connected -- Bind from ')),
      new RegExp(
        `^connected -- Bind from \\(unknown\\)@127\\.\\d+\\.\\d+\\.\\d+ for Unspecified\\.Host \\(\\S+\\) \\(${serviceName(got.port)}\\)$`,
      ),
    );
    // Byte counts name the peer (h.6): 24 bytes of greeting out, 5 bytes of answer in.
    t.regex(
      await waitForMessage(server, (m) => / bytes from /.test(m)),
      new RegExp(`^24 bytes from \\S+, 5 bytes from ${peer.replace(/\./g, '\\.')}$`),
    );
  } finally {
    await listener.stop();
  }
}

bindTest(
  'a program listening under socksify gets a SOCKS 4 BIND on rsockd: the peer reaches it through rsockd',
  async (t) => {
    await withRsockd(t, {}, (lab) => bindThrough(t, lab));
  },
);

bindTest(
  'a program listening under socksify over SOCKS 5 gets a SOCKS 5 BIND on rsockd, answered with its client-facing address',
  async (t) => {
    await withRsockd(t, { socks5: true }, (lab) => bindThrough(t, lab, 'socks_v5'));
  },
);

bindTest(
  'Dante binds for the unspecified host (0.0.0.0), which rsockd serves directly even when socks.conf cascades everything',
  async (t) => {
    // d.3: a destination whose address is 0.0.0.0 is "direct" without reading socks.conf.
    await withRsockd(t, { cascade: true }, async (lab) => {
      await bindThrough(t, lab);
      t.is(
        await waitForMessage(lab.rsockd, (m) => m.startsWith('bind() ')),
        'bind() directly from (unknown) for Unspecified.Host (0)',
      );
      t.false(
        lab.upstream!.daemon.lines.some((l) => l.includes(' -- Bind from ')),
        'the cascade sockd saw no BIND',
      );
    });
  },
);
