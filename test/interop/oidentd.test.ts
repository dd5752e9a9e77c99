import { connect as tcpConnect } from 'node:net';
import { userInfo } from 'node:os';
import type { ExecutionContext } from 'ava';
import { freshAddress, type HttpTarget, listenPort, startHttpTarget } from '../helpers/interop-net.ts';
import {
  type Daemon,
  runTool,
  type Scratch,
  scratchDir,
  startDaemon,
  startRsockd,
  waitForMessage,
} from '../helpers/interop-procs.ts';
import { programsInstalled, runningAsRoot, serviceName, testWhen, which } from '../helpers/interop-tools.ts';

// oidentd, a real RFC 1413 server, answering rsockd's identd queries (g.2): it runs on port 113
// of the client's own loopback address, the client connects from that address, and rsockd asks
// it who owns the client's connection. The answer is the account running the client — this test
// process's user — so a USERID naming that user passes a strict check and any other gets 93.

const test = testWhen(
  'oidentd interop',
  programsInstalled('oidentd', 'curl'),
  runningAsRoot('oidentd on port 113'),
);

const identPort = 113; // oidentd must listen where rsockd asks: the real identd port
const realUser = userInfo().username;
const targetName = 'target.interop.test';
const clientName = 'client.interop.test';

/** oidentd in the foreground on `host`:113, with a configuration of our own (no spoofing). */
async function startOidentd(scratch: Scratch, host: string): Promise<{ daemon: Daemon }> {
  const conf = scratch.file(
    'oidentd.conf',
    'default {\n\tdefault {\n\t\tdeny spoof\n\t\tdeny hide\n\t}\n}\n',
  );
  return startDaemon({
    name: 'oidentd',
    file: which('oidentd')!,
    // -i foreground, -S log to stderr, -a address, -p port, -C config, -t query timeout.
    args: ['-i', '-S', '-a', host, '-p', String(identPort), '-C', conf, '-t', '5'],
    ready: { host, port: identPort },
  });
}

interface Lab {
  readonly target: HttpTarget;
  readonly rsockd: Daemon;
  readonly oidentd: Daemon;
  readonly proxy: { host: string; port: number };
  /** The client's address: oidentd listens here and clients connect from here. */
  readonly client: string;
}

async function withIdentLab(
  t: ExecutionContext,
  sockdConf: string,
  identdOption: '-i' | '-I' | null,
  body: (lab: Lab) => Promise<void>,
): Promise<void> {
  const scratch = scratchDir('oidentd');
  const target = await startHttpTarget(freshAddress());
  const client = freshAddress();
  const proxy = { host: freshAddress(), port: listenPort() };
  const daemons: Daemon[] = [];
  try {
    const { daemon: oidentd } = await startOidentd(scratch, client);
    daemons.push(oidentd);
    const { daemon: rsockd } = await startRsockd({
      scratch,
      label: 'rsockd',
      ...proxy,
      sockdConf,
      socksConf: 'direct ALL\n',
      hosts: `${target.host} ${targetName}\n${client} ${clientName}\n`,
      identdPort: identPort,
      extraArgs: ['--timeout-identd', '5', ...(identdOption ? [identdOption] : [])],
    });
    daemons.push(rsockd);
    await body({ target, rsockd, oidentd, proxy, client });
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    await target.close();
    scratch.dispose();
  }
  t.pass();
}

/** curl --socks4 from the client address with `user` as USERID. */
function curlAs(lab: Lab, user: string) {
  return runTool(which('curl')!, [
    '-sS',
    '--max-time',
    '10',
    '--interface',
    lab.client,
    '--socks4',
    `${lab.proxy.host}:${lab.proxy.port}`,
    '--proxy-user',
    `${user}:`,
    `http://${lab.target.host}:${lab.target.port}/`,
  ]);
}

/** A raw SOCKS 4 CONNECT from the client address; resolves with the reply code (CD byte). */
function socks4ReplyCode(lab: Lab, user: string): Promise<number | null> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: lab.proxy.host, port: lab.proxy.port, localAddress: lab.client });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => finish(), 10_000);
    const finish = () => {
      clearTimeout(timer);
      s.destroy();
      const reply = Buffer.concat(chunks);
      resolve(reply.length >= 8 ? reply[1]! : null);
    };
    s.on('connect', () => {
      const head = Buffer.alloc(8);
      head[0] = 4; // VN
      head[1] = 1; // CD = CONNECT
      head.writeUInt16BE(lab.target.port, 2);
      for (const [i, octet] of lab.target.host.split('.').entries()) head[4 + i] = Number(octet);
      s.write(Buffer.concat([head, Buffer.from(user, 'latin1'), Buffer.from([0])]));
    });
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      if (Buffer.concat(chunks).length >= 8) finish();
    });
    s.on('error', finish);
    s.on('close', finish);
  });
}

const strictLine = 'permit ?=I 127.0.0.0 255.0.0.0\n';

test(`a ?=I line grants a request whose USERID is the user oidentd reports (${realUser})`, async (t) => {
  await withIdentLab(t, strictLine, null, async (lab) => {
    const run = await curlAs(lab, realUser);
    t.is(run.exitCode, 0, `${run.command}\n${run.stderr}`);
    t.is(run.stdout, lab.target.body);
    t.is(
      await waitForMessage(lab.rsockd, (m) => m.startsWith('connected -- ')),
      `connected -- Connect from ${realUser}(${realUser})@${clientName} to ${targetName} (${serviceName(lab.target.port)})`,
    );
    // oidentd really answered the query (its own log names the user it reported).
    await lab.oidentd.waitForLine((l) => l.includes('Successful lookup') && l.includes(realUser));
  });
});

test('a ?=I line refuses with 93 a USERID other than the user oidentd reports, with the *Alert* line', async (t) => {
  const claimed = realUser === 'mallory' ? 'trudy' : 'mallory';
  await withIdentLab(t, strictLine, null, async (lab) => {
    t.is(await socks4ReplyCode(lab, claimed), 93);
    t.is(
      await waitForMessage(lab.rsockd, (m) => m.startsWith('refused -- ')),
      `refused -- Connect from ${claimed}(${realUser})@${clientName} to ${targetName} (${serviceName(lab.target.port)})`,
    );
    await waitForMessage(lab.rsockd, (m) => m === `*Alert*: real user is ${realUser}, not ${claimed}`);
    const run = await curlAs(lab, claimed);
    t.not(run.exitCode, 0, 'curl is refused too');
    t.deepEqual(lab.target.peers, [], 'nothing reached the target');
  });
});

test('-I makes a line without ?= strict: oidentd confirms the real user and a wrong USERID gets 93', async (t) => {
  await withIdentLab(t, 'permit 127.0.0.0 255.0.0.0\n', '-I', async (lab) => {
    t.is(await socks4ReplyCode(lab, realUser), 90);
    t.is(await socks4ReplyCode(lab, `${realUser}x`), 93);
    await waitForMessage(lab.rsockd, (m) => m === `*Alert*: real user is ${realUser}, not ${realUser}x`);
  });
});
