import { type Socket, connect as tcpConnect } from 'node:net';
import type { ExecutionContext } from 'ava';
import {
  freshAddress,
  type HttpTarget,
  listenPort,
  rawSocks4,
  startHttpTarget,
} from '../helpers/interop-net.ts';
import {
  type Daemon,
  runTool,
  type Scratch,
  scratchDir,
  startDaemon,
  startRsockd,
  type ToolRun,
  waitForMessage,
} from '../helpers/interop-procs.ts';
import { isRoot, programsInstalled, serviceName, testWhen, which } from '../helpers/interop-tools.ts';

// Dante's danted as the next SOCKS server behind rsockd: rsockd's socks.conf sends everything to
// it and rsockd speaks SOCKS 4 upstream. danted checks its `internal:` address against the
// machine's interfaces, so it cannot listen on 127.0.0.2+; it gets 127.0.0.1 and a port of its
// own, which rsockd reaches through --upstream-port. In the longer chains danted itself routes
// on to a sockd (its `route { … via: … }`), which shows what Dante 1.4 forwards: an empty USERID.

const test = testWhen('Dante upstream interop', programsInstalled('danted', 'curl'));

const permitLoopback = 'permit 127.0.0.0 255.0.0.0\n';
const targetName = 'target.interop.test';

/** A danted.conf; `via` adds a server-side route to a further SOCKS 4 server. */
function dantedConf(port: number, via?: { host: string; port: number }): string {
  return [
    'logoutput: stderr',
    `internal: 127.0.0.1 port = ${port}`,
    'external: 127.0.0.1',
    'socksmethod: none',
    'clientmethod: none',
    // As root, danted wants to know whom to become; otherwise it simply runs as us.
    ...(isRoot ? ['user.privileged: root', 'user.unprivileged: nobody'] : []),
    'client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 log: connect error }',
    'socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 log: connect error }',
    ...(via
      ? [
          `route { from: 0.0.0.0/0 to: 0.0.0.0/0 via: ${via.host} port = ${via.port} proxyprotocol: socks_v4 }`,
        ]
      : []),
    '',
  ].join('\n');
}

/** danted on 127.0.0.1 and a free port (a few tries: 127.0.0.1 is shared with everyone). */
async function startDanted(
  scratch: Scratch,
  via?: { host: string; port: number },
): Promise<{ daemon: Daemon; port: number }> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = listenPort();
    const conf = scratch.file(`danted-${port}.conf`, dantedConf(port, via));
    try {
      const { daemon } = await startDaemon({
        name: 'danted',
        file: which('danted')!,
        // -p: its own pid file, so the system's /run/danted.pid is left alone.
        args: ['-f', conf, '-p', `${scratch.dir}/danted-${port}.pid`, '-N', '1'],
        ready: { host: '127.0.0.1', port },
      });
      return { daemon, port };
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

interface Lab {
  readonly scratch: Scratch;
  readonly target: HttpTarget;
  readonly danted: Daemon;
  readonly dantePort: number;
  readonly rsockd: Daemon;
  readonly proxy: { host: string; port: number };
  readonly client: string;
  /** The sockd danted routes to, when the lab has one. */
  readonly beyond: Daemon | undefined;
}

interface LabOptions {
  readonly socksConf: (dante: string) => string;
  /** Put a sockd behind danted (danted's own `route`), with this sockd.conf. */
  readonly beyondConf?: string;
}

async function withDanteBehindRsockd(
  t: ExecutionContext,
  options: LabOptions,
  body: (lab: Lab) => Promise<void>,
): Promise<void> {
  const scratch = scratchDir('dante');
  const target = await startHttpTarget(freshAddress());
  const daemons: Daemon[] = [];
  try {
    let beyond: Daemon | undefined;
    let via: { host: string; port: number } | undefined;
    if (options.beyondConf !== undefined) {
      via = { host: freshAddress(), port: listenPort() };
      ({ daemon: beyond } = await startRsockd({
        program: 'sockd',
        scratch,
        label: 'beyond',
        ...via,
        sockdConf: options.beyondConf,
        hosts: `${target.host} ${targetName}\n`,
      }));
      daemons.push(beyond);
    }
    const { daemon: danted, port: dantePort } = await startDanted(scratch, via);
    daemons.push(danted);
    const proxy = { host: freshAddress(), port: listenPort() };
    const client = freshAddress();
    const { daemon: rsockd } = await startRsockd({
      scratch,
      label: 'rsockd',
      ...proxy,
      sockdConf: permitLoopback,
      socksConf: options.socksConf('127.0.0.1'),
      upstreamPort: dantePort,
      hosts: `${target.host} ${targetName}\n${client} client.interop.test\n`,
    });
    daemons.push(rsockd);
    await body({ scratch, target, danted, dantePort, rsockd, proxy, client, beyond });
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    await target.close();
    scratch.dispose();
  }
  t.pass();
}

function curl(lab: Lab, dialect: 'socks4' | 'socks4a', host: string, user: string): Promise<ToolRun> {
  return runTool(which('curl')!, [
    '-sS',
    '--max-time',
    '20',
    '--interface',
    lab.client,
    `--${dialect}`,
    `${lab.proxy.host}:${lab.proxy.port}`,
    '--proxy-user',
    `${user}:`,
    `http://${host}:${lab.target.port}/`,
  ]);
}

/** danted logged a passed TCP connect to the target (its format: `addr.port`). */
function danteConnectedTo(lab: Lab): Promise<string> {
  const to = `${lab.target.host}.${lab.target.port}`;
  return lab.danted.waitForLine((l) => /pass\(\d+\): tcp\/connect \[/.test(l) && l.includes(to));
}

test('rsockd relays through danted: curl gets the page, rsockd logs "using sockd at", danted logs the connect', async (t) => {
  await withDanteBehindRsockd(t, { socksConf: (dante) => `sockd @=${dante} ALL\n` }, async (lab) => {
    const run = await curl(lab, 'socks4', lab.target.host, 'alice');
    t.is(run.exitCode, 0, `${run.command}\n${run.stderr}`);
    t.is(run.stdout, lab.target.body);
    const dst = `${targetName} (${serviceName(lab.target.port)})`;
    await waitForMessage(
      lab.rsockd,
      (m) => m === `connect() from alice(unknown) to ${dst} using sockd at 127.0.0.1`,
    );
    t.is(
      await waitForMessage(lab.rsockd, (m) => m.startsWith('connected -- ')),
      `connected -- Connect from alice(unknown)@client.interop.test to ${dst}`,
    );
    await danteConnectedTo(lab);
    // danted made the outbound connection from its external address.
    t.deepEqual(lab.target.peers, ['127.0.0.1']);
  });
});

test('a SOCKS 4A request that rsockd resolves goes on to danted as plain SOCKS 4', async (t) => {
  await withDanteBehindRsockd(t, { socksConf: (dante) => `sockd @=${dante} ALL\n` }, async (lab) => {
    const run = await curl(lab, 'socks4a', targetName, 'bob');
    t.is(run.exitCode, 0, `${run.command}\n${run.stderr}`);
    t.is(run.stdout, lab.target.body);
    await danteConnectedTo(lab);
    t.is(
      await waitForMessage(lab.rsockd, (m) => m.startsWith('connected -- ')),
      `connected -- Connect from bob(unknown)@client.interop.test to ${targetName} (${serviceName(lab.target.port)})`,
    );
  });
});

test('rsockd fails over from an unreachable first server to danted and logs the failed attempt', async (t) => {
  const dead = freshAddress(); // nothing listens there: connection refused
  await withDanteBehindRsockd(t, { socksConf: (dante) => `sockd @=${dead},${dante} ALL\n` }, async (lab) => {
    const run = await curl(lab, 'socks4', lab.target.host, 'carol');
    t.is(run.exitCode, 0, `${run.command}\n${run.stderr}`);
    t.is(run.stdout, lab.target.body);
    t.regex(
      await waitForMessage(lab.rsockd, (m) => m.startsWith(`Failed to connect to sockd at ${dead}`)),
      /^Failed to connect to sockd at \S+: .*refused/i,
    );
    await waitForMessage(lab.rsockd, (m) => m.endsWith('using sockd at 127.0.0.1'));
    await danteConnectedTo(lab);
  });
});

test('rsockd → danted → sockd: danted forwards an empty USERID, so the sockd behind it sees no user', async (t) => {
  const options = { socksConf: (dante: string) => `sockd @=${dante} ALL\n`, beyondConf: permitLoopback };
  await withDanteBehindRsockd(t, options, async (lab) => {
    const run = await curl(lab, 'socks4', lab.target.host, 'alice');
    t.is(run.exitCode, 0, `${run.command}\n${run.stderr}`);
    t.is(run.stdout, lab.target.body);
    const dst = `${targetName} (${serviceName(lab.target.port)})`;
    t.is(
      await waitForMessage(lab.rsockd, (m) => m.startsWith('connected -- ')),
      `connected -- Connect from alice(unknown)@client.interop.test to ${dst}`,
    );
    t.regex(
      await waitForMessage(lab.beyond!, (m) => m.startsWith('connected -- ')),
      new RegExp(
        `^connected -- Connect from \\(unknown\\)@127\\.0\\.0\\.1 to ${dst.replace(/[.()]/g, '\\$&')}$`,
      ),
      "the sockd behind danted sees an empty user from danted's address",
    );
  });
});

test('a user list behind danted cannot match, since danted drops the USERID: the request is refused end to end', async (t) => {
  const options = {
    socksConf: (dante: string) => `sockd @=${dante} ALL\n`,
    beyondConf: 'permit *=alice 127.0.0.0 255.0.0.0\n',
  };
  await withDanteBehindRsockd(t, options, async (lab) => {
    const run = await curl(lab, 'socks4', lab.target.host, 'alice');
    t.not(run.exitCode, 0);
    t.regex(
      await waitForMessage(lab.beyond!, (m) => m.startsWith('refused -- ')),
      /^refused -- Connect from \(unknown\)@/,
    );
    // rsockd got a refusal from danted and answers its own client with 91 (d.8).
    t.regex(
      await waitForMessage(lab.rsockd, (m) => m.startsWith('failed -- ')),
      /^failed -- Connect from alice\(unknown\)@client\.interop\.test to .*Error code: connect\(\) /,
    );
    t.deepEqual(lab.target.peers, []);
  });
});

test("a SOCKS 4 BIND through rsockd goes on to danted (d.9): danted listens, and the peer's connection is relayed back", async (t) => {
  await withDanteBehindRsockd(t, { socksConf: (dante) => `sockd @=${dante} ALL\n` }, async (lab) => {
    const peer = freshAddress();
    const session = await rawSocks4(lab.proxy, lab.client, 2, { host: peer, port: 8021 }, 'hank');
    try {
      // First reply: where danted listens (its external address), passed on by rsockd.
      const first = await session.reply();
      t.like(first, { code: 90, address: '127.0.0.1' });
      const inbound = tcpConnect({ host: first!.address, port: first!.port, localAddress: peer });
      inbound.on('error', () => {});
      const second = await session.reply();
      // Second reply: the peer as danted saw it, passed on unchanged but for VN (d.9).
      t.like(second, { code: 90, address: peer, port: await localPortOf(inbound) });
      inbound.write('from the peer\n');
      t.is((await session.read(14)).toString(), 'from the peer\n');
      inbound.destroy();
      await waitForMessage(
        lab.rsockd,
        (m) => m.startsWith('bind() from hank(unknown) for ') && m.endsWith('using sockd at 127.0.0.1'),
      );
      t.regex(
        await waitForMessage(lab.rsockd, (m) => m.startsWith('connected -- Bind from ')),
        new RegExp(
          `^connected -- Bind from hank\\(unknown\\)@client\\.interop\\.test for ${peer.replace(/\./g, '\\.')} \\(\\S+\\) \\(\\S+\\)$`,
        ),
      );
      await lab.danted.waitForLine((l) => /pass\(\d+\): tcp\/bindreply \[/.test(l) && l.includes(peer));
    } finally {
      session.close();
    }
  });
});

/** The local port of a connecting socket, once it is connected. */
function localPortOf(socket: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    if (socket.localPort !== undefined) return resolve(socket.localPort);
    socket.once('connect', () => resolve(socket.localPort ?? 0));
    socket.once('error', reject);
  });
}
