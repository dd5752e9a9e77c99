import test, { type ExecutionContext } from 'ava';
import type { Net } from '../../../src/net/net.ts';
import { productionNet } from '../../../src/net/production-net.ts';
import { encodeSocks4Request } from '../../../src/protocol/socks4.ts';
import {
  assertServes,
  closedWithin,
  connectTcp,
  echoThrough,
  freshAddress,
  readBytes,
  rulesFrom,
  serverNet,
  slowRunner,
  socks4,
  startEcho,
  startServer,
  waitForLog,
} from './helpers.ts';

// sockd over real loopback sockets: every SOCKS 4 reply path of Appendix B and its log line.

const permitAll = 'permit 127.0.0.0 255.0.0.0\n';

test('a permitted CONNECT gets 90, relays both ways and logs connected, terminated and byte counts', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: permitAll });
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'alice' });
  t.deepEqual(r.reply, { code: 90, port: 0, address: '0.0.0.0' });
  const msg = Buffer.from('hello through sockd');
  t.deepEqual(await echoThrough(r.socket, msg), msg);
  r.socket.end();
  t.true(await closedWithin(r.socket, 10_000));
  await waitForLog(s, (l) => l.startsWith('connected -- Connect from alice(unknown)@'));
  const term = await waitForLog(s, (l) => l.startsWith('terminated -- '));
  t.regex(term, /^terminated -- Connect from alice\(unknown\)@127\.\S+ to 127\.\S+ \(\d+\)\.$/);
  const counts = await waitForLog(s, (l) => / bytes from /.test(l));
  t.is(counts, `${msg.length} bytes from ${r.from}, ${msg.length} bytes from ${echo.host}`);
  const out = s.events.find((e) => e.type === 'outbound');
  t.is(out?.type === 'outbound' ? out.remote.address : undefined, echo.host);
});

test('early payload sent with the request reaches the destination first', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: permitAll });
  const early = Buffer.from('EARLY-BYTES');
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port, early });
  t.is(r.reply?.code, 90);
  t.deepEqual(await readBytes(r.socket, early.length), early);
  r.socket.destroy();
});

test('no matching rule refuses with 91, logs refused and runs no command', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: 'permit 10.0.0.0 255.0.0.0 : echo never\n' });
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'bob' });
  t.deepEqual(r.reply, { code: 91, port: 0, address: '0.0.0.0' });
  t.true(await closedWithin(r.socket, 5000));
  await waitForLog(s, (l) => l.startsWith('refused -- Connect from bob(unknown)@'));
  t.deepEqual(s.commands, []);
});

test('a deny line refuses with 91 after running its expanded command', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, {
    sockdConf: `deny *=kim 127.0.0.0 255.0.0.0 : logger -t sockd "blocked %u to %s %c"\n${permitAll}`,
  });
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'kim' });
  t.is(r.reply?.code, 91);
  await waitForLog(s, (l) => l.startsWith('refused -- Connect from kim(unknown)'));
  t.deepEqual(s.commands, [`logger -t sockd "blocked kim to ${echo.port} connect"`]);
  await assertServes(t, s, echo);
});

test('a refused outbound connection gives 91 and the connect() error text', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: permitAll });
  const dead = freshAddress();
  const r = await socks4({ proxy: s, dst: dead, port: 9, user: 'u' });
  t.is(r.reply?.code, 91);
  const line = await waitForLog(s, (l) => l.startsWith('failed -- '));
  t.is(
    line,
    `failed -- Connect from u(unknown)@${r.from} to ${dead} (discard).  Error code: connect() Connection refused`,
  );
  await assertServes(t, s, echo);
});

test('CONNECT to 0.0.0.0 is refused with 91 and logged as failed', async (t) => {
  const s = await startServer(t, { sockdConf: 'permit ALL\n' });
  const r = await socks4({ proxy: s, dst: '0.0.0.0', port: 80 });
  t.is(r.reply?.code, 91);
  await waitForLog(
    s,
    (l) => l.startsWith('failed -- Connect from (unknown)@') && l.includes('to Unspecified.Host (http)'),
  );
});

test('a SOCKS 4A name is resolved through the resolver and its name is logged', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: permitAll, hosts: `${echo.host} echo.lab.example echo\n` });
  const r = await socks4({ proxy: s, dst: '', hostname: 'echo.lab.example', port: echo.port, user: 'amy' });
  t.is(r.reply?.code, 90);
  t.deepEqual(await echoThrough(r.socket, Buffer.from('4a')), Buffer.from('4a'));
  r.socket.destroy();
  await waitForLog(
    s,
    (l) => l.startsWith('connected -- Connect from amy(unknown)@') && l.includes(' to echo.lab.example ('),
  );
});

test('an unresolvable SOCKS 4A name gives 91 and the gethostbyname() failure', async (t) => {
  const s = await startServer(t, { sockdConf: 'permit ALL\n' });
  const r = await socks4({ proxy: s, dst: '', hostname: 'nowhere.invalid', port: 80, user: 'amy' });
  t.is(r.reply?.code, 91);
  await waitForLog(
    s,
    (l) =>
      l.endsWith('to nowhere.invalid (http).  Error code: gethostbyname() Unknown host') &&
      l.startsWith('failed -- '),
  );
});

test('a missing sockd.conf refuses everything with 91 and logs Unable to open config file', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: null });
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port });
  t.is(r.reply?.code, 91);
  await waitForLog(s, (l) => l === 'Unable to open config file (/test/sockd.conf)');
  await waitForLog(s, (l) => l.startsWith('refused -- '));
});

test('an unreadable user file makes its rule not match and logs Unable to open userfile', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, {
    sockdConf: `permit *=/etc/none.users 127.0.0.0 255.0.0.0\npermit *=probe,pat ALL\n`,
  });
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'zed' });
  t.is(r.reply?.code, 91);
  await waitForLog(s, (l) => l === 'Unable to open userfile (/etc/none.users): No such file or directory');
  await assertServes(t, s, echo);
});

test('a wrong version byte closes without reply and logs it in %2x form', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: permitAll });
  const sock = await connectTcp(s.host, s.port);
  sock.write(Buffer.from([0x03, 1, 0, 80, 127, 0, 0, 1, 0]));
  t.is((await readBytes(sock, 8, 2000)).length, 0);
  await waitForLog(s, (l) => l === `error -- wrong version (0x 3) from host ${sock.localAddress}.`);
  await assertServes(t, s, echo);
});

test('an undefined command closes without reply and is logged', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: permitAll });
  const sock = await connectTcp(s.host, s.port);
  sock.write(Buffer.from([4, 0x0c, 0, 80, 127, 0, 0, 1, 0]));
  t.is((await readBytes(sock, 8, 2000)).length, 0);
  await waitForLog(s, (l) => l === `error -- undefined command (0x c) from host ${sock.localAddress}`);
  await assertServes(t, s, echo);
});

test('a truncated request is dropped with the GetDst log line', async (t) => {
  const echo = await startEcho(t);
  // The request timer far off: the close awaited below comes from the client's EOF.
  const s = await startServer(t, { sockdConf: permitAll, timers: { requestRead: 60_000 } });
  const sock = await connectTcp(s.host, s.port);
  const from = sock.localAddress;
  sock.end(Buffer.from([4, 1, 0]));
  t.true(await closedWithin(sock, 10_000));
  await waitForLog(s, (l) => l.startsWith('Error in GetDst: ') && l.endsWith(`; from host ${from}`));
  await assertServes(t, s, echo);
});

test('a USERID of 64 KiB without NUL is cut off after 1024 bytes without reply', async (t) => {
  const echo = await startEcho(t);
  // The request timer far off: the close awaited below comes from the 1024-byte cut.
  const s = await startServer(t, { sockdConf: permitAll, timers: { requestRead: 60_000 } });
  const sock = await connectTcp(s.host, s.port);
  sock.on('error', () => {});
  sock.write(Buffer.concat([Buffer.from([4, 1, 0, 80, 127, 0, 0, 1]), Buffer.alloc(64 * 1024, 0x41)]));
  t.true(await closedWithin(sock, 10_000));
  t.is(sock.bytesRead, 0);
  await assertServes(t, s, echo);
});

test('a slow-loris client is closed by the request timer without reply while others are served', async (t) => {
  const echo = await startEcho(t);
  // 3 s, not 1: the timer runs from the accept, and the health check's own request (sent at
  // once) must be read within it on a loaded machine too.
  const s = await startServer(t, { sockdConf: permitAll, timers: { requestRead: 3000 } });
  const sock = await connectTcp(s.host, s.port);
  sock.write(Buffer.from([4, 1, 0]));
  await assertServes(t, s, echo);
  t.true(await closedWithin(sock, 15_000));
  t.is(sock.bytesRead, 0);
  await waitForLog(s, (l) => l.startsWith('Error in GetDst: Connection timed out;'));
  await assertServes(t, s, echo);
});

/**
 * A destination that answers only after it has seen EOF, with `got:` and all it received: proves
 * EOF was forwarded and that the other direction stayed open.
 */
async function startEofAnswerer(t: ExecutionContext): Promise<{ host: string; port: number }> {
  const { createServer } = await import('node:net');
  const host = freshAddress();
  const srv = createServer({ allowHalfOpen: true }, (c) => {
    const chunks: Buffer[] = [];
    c.on('data', (d) => chunks.push(d));
    c.on('end', () => c.end(Buffer.concat([Buffer.from('got:'), ...chunks])));
  });
  await new Promise<void>((r) => srv.listen(0, host, () => r()));
  t.teardown(() => srv.close());
  return { host, port: (srv.address() as { port: number }).port };
}

test('half-close from the client is propagated and the reply direction keeps flowing', async (t) => {
  const { host, port } = await startEofAnswerer(t);
  const s = await startServer(t, { sockdConf: permitAll });
  const r = await socks4({ proxy: s, dst: host, port });
  t.is(r.reply?.code, 90);
  r.socket.end('abc');
  const back = await readBytes(r.socket, 7);
  t.is(back.toString(), 'got:abc');
  await waitForLog(s, (l) => l === `3 bytes from ${r.from}, 7 bytes from ${host}`);
});

for (const [label, net] of [
  ['libuv handles', productionNet('uv')],
  ['node:net', productionNet('node')],
] as const) {
  test(`bytes and EOF a client sends while its request is decided reach the destination after the reply, in order (${label})`, async (t) => {
    const { host, port } = await startEofAnswerer(t);
    // The line's shell command takes 2 s: the client writes and half-closes meanwhile, from the
    // moment the command starts (not after a guess a loaded machine may overrun).
    let began!: () => void;
    const deciding = new Promise<void>((resolve) => {
      began = resolve;
    });
    const slow = slowRunner(2000);
    const s = await startServer(t, {
      sockdConf: 'permit 127.0.0.0 255.0.0.0 : true\n',
      commands: {
        run: (command, options) => {
          began();
          return slow.run(command, options);
        },
      },
      net,
    });
    const client = await connectTcp(s.host, s.port);
    client.on('error', () => {});
    // Read now: Node 24 no longer reports a socket's address once it is closed.
    const from = client.localAddress;
    client.write(encodeSocks4Request({ command: 'connect', port, address: host, user: 'u' }));
    await deciding;
    client.write('early ');
    await new Promise((r) => setTimeout(r, 50));
    client.end('and last');
    const reply = await readBytes(client, 8);
    t.is(reply[1], 90);
    const back = await readBytes(client, 'got:early and last'.length);
    t.is(back.toString(), 'got:early and last');
    await waitForLog(s, (l) => l === `14 bytes from ${from}, 18 bytes from ${host}`);
  });
}

test('the idle timer ends a silent session with the normal termination logs', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: permitAll, timers: { relayIdle: 300 } });
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port });
  t.is(r.reply?.code, 90);
  t.true(await closedWithin(r.socket, 10_000));
  await waitForLog(s, (l) => l.startsWith('terminated -- '));
});

test('the establishment timer ends a hanging connect with timed-out and no reply', async (t) => {
  const echo = await startEcho(t);
  const blackhole = freshAddress();
  // The kernel refuses at once on loopback, so this Net never completes a connect to `blackhole`.
  const net: Net = {
    listen: (o, cb) => serverNet.listen(o, cb),
    connect: (o) => (o.host === blackhole ? new Promise<never>(() => {}) : serverNet.connect(o)),
  };
  const s = await startServer(t, { sockdConf: permitAll, timers: { establish: 1000 }, net });
  const r = await socks4({ proxy: s, dst: blackhole, port: 80, user: 'x' });
  t.is(r.reply, null);
  t.true(await closedWithin(r.socket, 2000));
  await waitForLog(s, (l) => l === `timed-out -- Connect from x(unknown)@${r.from} to ${blackhole} (http)`);
  await assertServes(t, s, echo);
});

test('reload swaps the rules for new sessions while a session in flight keeps relaying', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: permitAll });
  const before = await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'early' });
  t.is(before.reply?.code, 90);
  s.server.reload(rulesFrom({ sockdConf: 'deny ALL\n' }));
  const after = await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'late' });
  t.is(after.reply?.code, 91);
  t.deepEqual(await echoThrough(before.socket, Buffer.from('still here')), Buffer.from('still here'));
  before.socket.destroy();
});

test('close with drain lets a session finish by itself', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: permitAll });
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port });
  t.is(r.reply?.code, 90);
  const closing = s.server.close({ drain: true, timeoutMs: 20_000 });
  t.deepEqual(await echoThrough(r.socket, Buffer.from('drain')), Buffer.from('drain'));
  r.socket.end();
  await closing;
  await waitForLog(s, (l) => l === `5 bytes from ${r.from}, 5 bytes from ${echo.host}`);
  t.is(s.server.activeSessions, 0);
});

test('the drain timeout ends sessions that do not finish', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: permitAll });
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port });
  t.is(r.reply?.code, 90);
  await s.server.close({ drain: true, timeoutMs: 200 });
  t.true(await closedWithin(r.socket, 10_000));
  t.is(s.server.activeSessions, 0);
});

test('a resolver that never answers is cut off by the DNS timer and names fall back to addresses', async (t) => {
  const echo = await startEcho(t);
  const hanging = {
    reverse: () => new Promise<string[]>(() => {}),
    forward: () => new Promise<string[]>(() => {}),
  };
  const s = await startServer(t, { sockdConf: permitAll, resolver: hanging, timers: { dnsLookup: 200 } });
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'dns' });
  t.is(r.reply?.code, 90);
  r.socket.destroy();
  await waitForLog(
    s,
    (l) => l === `connected -- Connect from dns(unknown)@${r.from} to ${echo.host} (${echo.port})`,
  );
});

test('user files on disk are read for every request: an edit applies to the next one', async (t) => {
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { fsAsyncUserFileReader } = await import('../../../src/server/user-files.ts');
  const dir = await mkdtemp(join(tmpdir(), 'users-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const staff = join(dir, 'staff.users');
  await writeFile(staff, '# staff\npat, lee\n');
  const echo = await startEcho(t);
  const s = await startServer(t, {
    sockdConf: `permit *=${staff} ALL\n`,
    userFilesAsync: fsAsyncUserFileReader,
  });
  t.is((await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'lee' })).reply?.code, 90);
  t.is((await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'kim' })).reply?.code, 91);
  await writeFile(staff, 'kim\n');
  t.is((await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'kim' })).reply?.code, 90);
  await rm(staff);
  t.is((await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'kim' })).reply?.code, 91);
  await waitForLog(s, (l) => l === `Unable to open userfile (${staff}): No such file or directory`);
});
