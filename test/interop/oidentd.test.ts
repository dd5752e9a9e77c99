import { userInfo } from 'node:os';
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
  eventsPath,
  runTool,
  type Scratch,
  scratchDir,
  startDaemon,
  startRsockd,
  waitForEvent,
  waitForMessage,
} from '../helpers/interop-procs.ts';
import { mayBindPort, programsInstalled, serviceName, testWhen, which } from '../helpers/interop-tools.ts';

// oidentd, a real RFC 1413 server, answering rsockd's identd queries (g.2): it runs on port 113
// of the client's own loopback address, the client connects from that address, and rsockd asks
// it who owns the client's connection. The answer is the account running the client — this test
// process's user — so a USERID naming that user passes a strict check and any other gets 93.

const test = testWhen('oidentd interop', programsInstalled('oidentd', 'curl'), mayBindPort(113, 'oidentd'));

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
    args: ['-i', '-S', '-a', host, '-p', String(identPort), '-C', conf, '-t', '10'],
    ready: { host, port: identPort },
  });
}

interface Lab {
  readonly target: HttpTarget;
  readonly rsockd: Daemon;
  readonly oidentd: Daemon;
  readonly proxy: { host: string; port: number };
  /** The client's address: clients connect from here (and oidentd listens here by default). */
  readonly client: string;
  /** The sockd rsockd cascades to, when the lab has one. */
  readonly next: Daemon | undefined;
  /** rsockd's JSON-lines events file. */
  readonly events: string;
}

interface LabOptions {
  /** rsockd's sockd.conf. */
  readonly sockdConf: string;
  readonly identdOption?: '-i' | '-I';
  /** A sockd behind rsockd (socks.conf `sockd @=…`) with this sockd.conf, asking identd too. */
  readonly next?: string;
  /**
   * Where oidentd runs: on the client's address (rsockd asks it about curl), or on 127.0.0.1,
   * the source address of rsockd's own upstream connections (the sockd behind it asks it there).
   */
  readonly oidentdOn?: 'client' | 'rsockd-source';
}

async function withIdentLab(
  t: ExecutionContext,
  options: LabOptions,
  body: (lab: Lab) => Promise<void>,
): Promise<void> {
  const scratch = scratchDir('oidentd');
  const target = await startHttpTarget(freshAddress());
  const client = freshAddress();
  const proxy = { host: freshAddress(), port: listenPort() };
  const hosts = `${target.host} ${targetName}\n${client} ${clientName}\n`;
  const identdArgs = ['--timeout-identd', '10'];
  const daemons: Daemon[] = [];
  try {
    const { daemon: oidentd } = await startOidentd(
      scratch,
      options.oidentdOn === 'rsockd-source' ? '127.0.0.1' : client,
    );
    daemons.push(oidentd);
    let next: Daemon | undefined;
    let nextAt: { host: string; port: number } | undefined;
    if (options.next !== undefined) {
      nextAt = { host: freshAddress(), port: listenPort() };
      ({ daemon: next } = await startRsockd({
        program: 'sockd',
        scratch,
        label: 'next',
        ...nextAt,
        sockdConf: options.next,
        hosts,
        identdPort: identPort,
        extraArgs: identdArgs,
      }));
      daemons.push(next);
    }
    const { daemon: rsockd } = await startRsockd({
      scratch,
      label: 'rsockd',
      ...proxy,
      sockdConf: options.sockdConf,
      socksConf: nextAt ? `sockd @=${nextAt.host} ALL\n` : 'direct ALL\n',
      hosts,
      identdPort: identPort,
      ...(nextAt ? { upstreamPort: nextAt.port } : {}),
      extraArgs: [...identdArgs, ...(options.identdOption ? [options.identdOption] : [])],
    });
    daemons.push(rsockd);
    await body({
      target,
      rsockd,
      oidentd,
      proxy,
      client,
      next,
      events: eventsPath({ scratch, label: 'rsockd' }),
    });
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
    '20',
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
async function socks4ReplyCode(lab: Lab, user: string): Promise<number | null> {
  const session = await rawSocks4(lab.proxy, lab.client, 1, lab.target, user);
  try {
    return (await session.reply())?.code ?? null;
  } finally {
    session.close();
  }
}

const strictLine = 'permit ?=I 127.0.0.0 255.0.0.0\n';

test(`a ?=I line grants a request whose USERID is the user oidentd reports (${realUser})`, async (t) => {
  await withIdentLab(t, { sockdConf: strictLine }, async (lab) => {
    const run = await curlAs(lab, realUser);
    t.is(run.exitCode, 0, `${run.command}\n${run.stderr}`);
    t.is(run.stdout, lab.target.body);
    t.is(
      await waitForMessage(lab.rsockd, (m) => m.startsWith('connected -- ')),
      `connected -- Connect from ${realUser}(${realUser})@${clientName} to ${targetName} (${serviceName(lab.target.port)})`,
    );
    // oidentd really answered the query (its own log names the user it reported), and rsockd's
    // identd event quotes its RFC 1413 answer line (g.2, g.3).
    await lab.oidentd.waitForLine((l) => l.includes('Successful lookup') && l.includes(realUser));
    const identd = await waitForEvent(lab.events, 'identd');
    t.like(identd, {
      verdict: 'confirmed',
      user: realUser,
      queried: { address: lab.client, port: identPort },
    });
    t.regex(
      identd.answer ?? '',
      new RegExp(`^\\s*\\d+\\s*,\\s*${lab.proxy.port}\\s*:\\s*USERID\\s*:\\s*[^:]+:\\s*${realUser}\\s*$`),
    );
  });
});

test('a ?=I line refuses with 93 a USERID other than the user oidentd reports, with the *Alert* line', async (t) => {
  const claimed = realUser === 'mallory' ? 'trudy' : 'mallory';
  await withIdentLab(t, { sockdConf: strictLine }, async (lab) => {
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
  await withIdentLab(t, { sockdConf: 'permit 127.0.0.0 255.0.0.0\n', identdOption: '-I' }, async (lab) => {
    t.is(await socks4ReplyCode(lab, realUser), 90);
    t.is(await socks4ReplyCode(lab, `${realUser}x`), 93);
    await waitForMessage(lab.rsockd, (m) => m === `*Alert*: real user is ${realUser}, not ${realUser}x`);
  });
});

// g.7 with real identds: only the first hop can verify the user. The hop behind rsockd asks
// identd on rsockd's side, which names the account running rsockd, not the end user.

test('g.7: a sockd behind rsockd that verifies with identd hears the rsockd owner, refuses 93, and rsockd answers 91', async (t) => {
  const claimed = realUser === 'alice' ? 'bob' : 'alice';
  const options: LabOptions = {
    sockdConf: 'permit ?=n 127.0.0.0 255.0.0.0\n', // rsockd trusts its client
    next: strictLine, // the sockd behind it checks with identd on rsockd's address
    oidentdOn: 'rsockd-source',
  };
  await withIdentLab(t, options, async (lab) => {
    const run = await curlAs(lab, claimed);
    t.not(run.exitCode, 0);
    t.deepEqual(lab.target.peers, []);
    await waitForMessage(lab.next!, (m) => m === `*Alert*: real user is ${realUser}, not ${claimed}`);
    t.regex(
      await waitForMessage(lab.next!, (m) => m.startsWith('refused -- ')),
      new RegExp(`^refused -- Connect from ${claimed}\\(${realUser}\\)@127\\.0\\.0\\.1 to `),
    );
    // The upstream's 93 concerns identd on rsockd's host: rsockd turns it into 91 (d.8).
    t.regex(
      await waitForMessage(lab.rsockd, (m) => m.startsWith('failed -- ')),
      new RegExp(
        `^failed -- Connect from ${claimed}\\(unknown\\)@${clientName.replace(/\./g, '\\.')} to .*Error code: connect\\(\\) `,
      ),
    );
  });
});

test('g.7: the first hop verifies with identd on the client and the sockd behind it trusts rsockd (?=n)', async (t) => {
  const options: LabOptions = {
    sockdConf: strictLine, // rsockd verifies with oidentd on the client's address
    next: 'permit ?=n 127.0.0.0 255.0.0.0\n',
    oidentdOn: 'client',
  };
  await withIdentLab(t, options, async (lab) => {
    const run = await curlAs(lab, realUser);
    t.is(run.exitCode, 0, `${run.command}\n${run.stderr}`);
    t.is(run.stdout, lab.target.body);
    const dst = `${targetName} (${serviceName(lab.target.port)})`;
    t.is(
      await waitForMessage(lab.rsockd, (m) => m.startsWith('connected -- ')),
      `connected -- Connect from ${realUser}(${realUser})@${clientName} to ${dst}`,
    );
    // The sockd has the user on rsockd's word only: REALUSER unknown, host = rsockd's side.
    t.is(
      await waitForMessage(lab.next!, (m) => m.startsWith('connected -- ')),
      `connected -- Connect from ${realUser}(unknown)@127.0.0.1 to ${dst}`,
    );
  });
});
