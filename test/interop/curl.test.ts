import type { ExecutionContext } from 'ava';
import { freshAddress, listenPort, startHttpTarget } from '../helpers/interop-net.ts';
import { type Daemon, runTool, scratchDir, startRsockd, waitForMessage } from '../helpers/interop-procs.ts';
import { programsInstalled, serviceName, testWhen, which } from '../helpers/interop-tools.ts';

// curl (Debian's) speaking each of its SOCKS dialects to the real rsockd CLI, which reaches a
// local HTTP server directly. Host names come from rsockd's --hosts fixture, never from DNS.

const test = testWhen('curl interop', programsInstalled('curl'));

// The target's fixture line lists a primary name and an alias: an address request is logged
// with the primary name (its confirmed reverse lookup, c.6), a host-name request with the name as
// sent (b.3) — so the log shows which of the two reached rsockd.
const targetName = 'web.interop.test';
const targetAlias = 'www.interop.test';
const clientName = 'curl-client.interop.test';

type Dialect = 'socks4' | 'socks4a' | 'socks5' | 'socks5-hostname';

async function throughRsockd(
  t: ExecutionContext,
  dialect: Dialect,
  by: 'address' | 'name',
  user = '',
): Promise<void> {
  const scratch = scratchDir('curl');
  const target = await startHttpTarget(freshAddress());
  const client = freshAddress();
  const proxy = { host: freshAddress(), port: listenPort() };
  let rsockd: Daemon | undefined;
  try {
    ({ daemon: rsockd } = await startRsockd({
      scratch,
      label: 'rsockd',
      ...proxy,
      sockdConf: 'permit 127.0.0.0 255.0.0.0\n',
      socksConf: 'direct ALL\n',
      hosts: `${target.host} ${targetName} ${targetAlias}\n${client} ${clientName}\n`,
      extraArgs: ['--socks5'],
    }));
    const run = await runTool(which('curl')!, [
      '-sS',
      '--max-time',
      '10',
      '--interface',
      client,
      `--${dialect}`,
      `${proxy.host}:${proxy.port}`,
      // For SOCKS 4 curl sends the proxy user name as USERID.
      ...(user === '' ? [] : ['--proxy-user', `${user}:`]),
      `http://${by === 'name' ? targetAlias : target.host}:${target.port}/`,
    ]);
    t.is(run.exitCode, 0, `${run.command}\n${run.stderr}`);
    t.is(run.stdout, target.body);
    const connected = await waitForMessage(rsockd, (m) => m.startsWith('connected -- '));
    t.is(
      connected,
      `connected -- Connect from ${user}(unknown)@${clientName} to ${by === 'name' ? targetAlias : targetName} (${serviceName(target.port)})`,
    );
    await waitForMessage(rsockd, (m) => m.startsWith('terminated -- '));
    t.deepEqual(target.peers.length, 1, 'exactly one connection reached the target');
  } finally {
    await rsockd?.stop();
    await target.close();
    scratch.dispose();
  }
}

test('curl --socks4 fetches a page through rsockd and rsockd logs the connection with the claimed user', async (t) => {
  await throughRsockd(t, 'socks4', 'address', 'alice');
});

test('curl --socks4a hands the host name to rsockd, which resolves it from its --hosts table', async (t) => {
  await throughRsockd(t, 'socks4a', 'name', 'bob');
});

test('curl --socks5 (no authentication) fetches a page through rsockd with an empty user', async (t) => {
  await throughRsockd(t, 'socks5', 'address');
});

test('curl --socks5-hostname sends a domain address that rsockd resolves from its --hosts table', async (t) => {
  await throughRsockd(t, 'socks5-hostname', 'name');
});

test('curl --socks4 is refused by rsockd when no sockd.conf line permits it, and the log says refused', async (t) => {
  const scratch = scratchDir('curl');
  const target = await startHttpTarget(freshAddress());
  const client = freshAddress();
  const proxy = { host: freshAddress(), port: listenPort() };
  let rsockd: Daemon | undefined;
  try {
    ({ daemon: rsockd } = await startRsockd({
      scratch,
      label: 'rsockd',
      ...proxy,
      // Only a network the client is not on is permitted: the request matches no line.
      sockdConf: 'permit 127.0.0.0 255.0.0.0 10.0.0.0 255.0.0.0\n',
      socksConf: 'direct ALL\n',
      hosts: `${target.host} ${targetName}\n${client} ${clientName}\n`,
    }));
    const run = await runTool(which('curl')!, [
      '-sS',
      '--max-time',
      '10',
      '--interface',
      client,
      '--socks4',
      `${proxy.host}:${proxy.port}`,
      '--proxy-user',
      'carol:',
      `http://${target.host}:${target.port}/`,
    ]);
    t.not(run.exitCode, 0);
    t.regex(run.stderr, /reject|fail/i, 'curl reports the SOCKS4 refusal');
    t.is(
      await waitForMessage(rsockd, (m) => m.startsWith('refused -- ')),
      `refused -- Connect from carol(unknown)@${clientName} to ${targetName} (${serviceName(target.port)})`,
    );
    t.deepEqual(target.peers, [], 'nothing reached the target');
  } finally {
    await rsockd?.stop();
    await target.close();
    scratch.dispose();
  }
});
