import test from 'ava';
import { encodeSocks4Request } from '../../../src/protocol/socks4.ts';
import {
  assertServes,
  closedWithin,
  connectTcp,
  freshAddress,
  randomPort,
  readBytes,
  slowRunner,
  socks4,
  startEcho,
  startServer,
  waitFor,
  waitForLog,
} from './helpers.ts';

// BIND (b.5): two replies, peer check, timer, client close, multi-homed interface choice, and
// BIND through an upstream server (d.9).

function decodeReply(b: Buffer): { code: number; port: number; address: string } {
  return { code: b[1]!, port: b.readUInt16BE(2), address: `${b[4]}.${b[5]}.${b[6]}.${b[7]}` };
}

test('single-homed BIND: first reply 0.0.0.0:port, the expected peer gets the second 90 and a relay', async (t) => {
  const app = freshAddress();
  const s = await startServer(t, { sockdConf: 'permit ALL\n' });
  const r = await socks4({ proxy: s, command: 'bind', dst: app, port: 21, user: 'ftpuser' });
  t.is(r.reply?.code, 90);
  t.is(r.reply?.address, '0.0.0.0');
  const listenPort = r.reply!.port;
  t.true(listenPort > 0);
  // The application server connects back from its own address.
  const peer = await connectTcp(s.host, listenPort, app);
  const peerPort = peer.localPort!;
  const second = decodeReply(await readBytes(r.socket, 8));
  t.deepEqual(second, { code: 90, port: peerPort, address: app });
  peer.write('from-app');
  t.is((await readBytes(r.socket, 8)).toString(), 'from-app');
  r.socket.write('to-app');
  t.is((await readBytes(peer, 6)).toString(), 'to-app');
  await waitForLog(
    s,
    (l) => l === `connected -- Bind from ftpuser(unknown)@${r.from} for ${app} (ftp) (${peerPort})`,
  );
  peer.end();
  r.socket.end();
  await waitForLog(
    s,
    (l) => l === `terminated -- Bind from ftpuser(unknown)@${r.from} for ${app} (ftp) (${peerPort}).`,
  );
  await waitForLog(s, (l) => l === `6 bytes from ${r.from}, 8 bytes from ${app}`);
});

test('a BIND peer from the wrong host gets the client a second reply 91 and the wrong-host log', async (t) => {
  const app = freshAddress();
  const intruder = freshAddress();
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: 'permit ALL\n' });
  const r = await socks4({ proxy: s, command: 'bind', dst: app, port: 21, user: 'u' });
  t.is(r.reply?.code, 90);
  const peer = await connectTcp(s.host, r.reply!.port, intruder);
  peer.on('error', () => {});
  const peerPort = peer.localPort!;
  const second = decodeReply(await readBytes(r.socket, 8));
  t.deepEqual(second, { code: 91, port: r.reply!.port, address: '0.0.0.0' });
  t.true(await closedWithin(r.socket, 5000));
  t.true(await closedWithin(peer, 5000));
  await waitForLog(
    s,
    (l) =>
      l ===
      `failed -- Bind from u(unknown)@${r.from} for ${app} (ftp). Error: connected to wrong host ${intruder} (${peerPort})`,
  );
  await assertServes(t, s, echo);
});

test('BIND for 0.0.0.0 accepts any peer', async (t) => {
  const s = await startServer(t, { sockdConf: 'permit ALL\n' });
  const r = await socks4({ proxy: s, command: 'bind', dst: '0.0.0.0', port: 0, user: 'u' });
  t.is(r.reply?.code, 90);
  const anyone = freshAddress();
  const peer = await connectTcp(s.host, r.reply!.port, anyone);
  const second = decodeReply(await readBytes(r.socket, 8));
  t.is(second.code, 90);
  t.is(second.address, anyone);
  peer.destroy();
  r.socket.destroy();
  await waitForLog(
    s,
    (l) => l.startsWith('connected -- Bind from u(unknown)@') && l.includes('for Unspecified.Host (0)'),
  );
});

test('BIND with a 4A name accepts a peer from any of its resolved addresses', async (t) => {
  const app = freshAddress();
  const s = await startServer(t, { sockdConf: 'permit ALL\n', hosts: `${app} app.example\n` });
  const r = await socks4({
    proxy: s,
    command: 'bind',
    dst: '',
    hostname: 'app.example',
    port: 20,
    user: 'u',
  });
  t.is(r.reply?.code, 90);
  const peer = await connectTcp(s.host, r.reply!.port, app);
  t.is(decodeReply(await readBytes(r.socket, 8)).code, 90);
  peer.destroy();
  r.socket.destroy();
});

test('no peer before the establishment timer: timed-out log and no second reply', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: 'permit ALL\n', timers: { establish: 1000 } });
  const r = await socks4({ proxy: s, command: 'bind', dst: freshAddress(), port: 21, user: 'u' });
  t.is(r.reply?.code, 90);
  t.is((await readBytes(r.socket, 8, 2000)).length, 0);
  await waitForLog(s, (l) => l.startsWith('timed-out -- Bind from u(unknown)@'));
  await assertServes(t, s, echo);
});

test('a client closing while waiting cancels the BIND listener at once', async (t) => {
  const s = await startServer(t, { sockdConf: 'permit ALL\n', timers: { establish: 60_000 } });
  const r = await socks4({ proxy: s, command: 'bind', dst: freshAddress(), port: 21, user: 'u' });
  t.is(r.reply?.code, 90);
  r.socket.end();
  // The session ends (and its listener with it) once the server has read the EOF: wait for that,
  // not a fixed time a loaded machine may not meet. The establishment timer (60 s) is far off.
  await waitFor(() => s.server.activeSessions === 0);
  await t.throwsAsync(connectTcp(s.host, r.reply!.port));
});

test('a client that closed before its first reply ends the BIND wait as soon as it is answered', async (t) => {
  // The line's shell command takes 300 ms, so the client's EOF arrives while the request is decided.
  const s = await startServer(t, {
    sockdConf: 'permit ALL : true\n',
    commands: slowRunner(300),
    // Far beyond the wait below: only the client's EOF can end the session within it.
    timers: { establish: 60_000 },
  });
  const client = await connectTcp(s.host, s.port);
  client.on('error', () => {});
  client.end(encodeSocks4Request({ command: 'bind', port: 21, address: freshAddress(), user: 'u' }));
  const first = decodeReply(await readBytes(client, 8));
  t.is(first.code, 90);
  await waitFor(() => s.server.activeSessions === 0);
  await t.throwsAsync(connectTcp(s.host, first.port), undefined, 'the BIND listener is closed');
});

test('multi-homed BIND listens on the interface chosen by the route file and reports it', async (t) => {
  const iface = freshAddress();
  const app = freshAddress();
  const s = await startServer(t, { sockdConf: 'permit ALL\n', route: `${iface} ALL\n` });
  const r = await socks4({ proxy: s, command: 'bind', dst: app, port: 21, user: 'u' });
  t.is(r.reply?.code, 90);
  t.is(r.reply?.address, iface);
  const peer = await connectTcp(iface, r.reply!.port, app);
  t.is(decodeReply(await readBytes(r.socket, 8)).code, 90);
  peer.destroy();
  r.socket.destroy();
});

test('multi-homed BIND without a matching route replies 91 and logs the interface error', async (t) => {
  const s = await startServer(t, {
    sockdConf: 'permit ALL\n',
    route: `${freshAddress()} 10.0.0.0 255.0.0.0\n`,
  });
  const app = freshAddress();
  const r = await socks4({ proxy: s, command: 'bind', dst: app, port: 21, user: 'u' });
  t.is(r.reply?.code, 91);
  await waitForLog(s, (l) => l === `***Cannot find appropriate interface to communicate with ${app}`);
});

test('multi-homed BIND without a route file replies 91 and logs Unable to open routing file', async (t) => {
  const s = await startServer(t, { sockdConf: 'permit ALL\n', multihomed: true });
  const r = await socks4({ proxy: s, command: 'bind', dst: freshAddress(), port: 21, user: 'u' });
  t.is(r.reply?.code, 91);
  await waitForLog(s, (l) => l === 'Unable to open routing file (/etc/sockd.route)');
});

test('BIND through an upstream: the upstream 0.0.0.0 becomes its address; the second reply passes on', async (t) => {
  const port = randomPort();
  const A = freshAddress();
  const app = freshAddress();
  const a = await startServer(t, { host: A, port, sockdConf: 'permit ALL\n' });
  const b = await startServer(t, {
    mode: 'rsockd',
    sockdConf: 'permit ALL\n',
    socksConf: `sockd @=${A} ALL\n`,
    upstreamPort: port,
  });
  const r = await socks4({ proxy: b, command: 'bind', dst: app, port: 21, user: 'u' });
  t.is(r.reply?.code, 90);
  t.is(r.reply?.address, A);
  const peer = await connectTcp(A, r.reply!.port, app);
  const second = decodeReply(await readBytes(r.socket, 8));
  t.deepEqual(second, { code: 90, port: peer.localPort!, address: app });
  peer.write('hello');
  t.is((await readBytes(r.socket, 5)).toString(), 'hello');
  r.socket.write('back');
  t.is((await readBytes(peer, 4)).toString(), 'back');
  peer.end();
  r.socket.end();
  await waitForLog(b, (l) => l.startsWith(`bind() from u(unknown) for ${app} (ftp) using sockd at ${A}`));
  await waitForLog(a, (l) => l.startsWith(`connected -- Bind from u(unknown)@`));
  await waitForLog(b, (l) => l === `4 bytes from ${r.from}, 5 bytes from ${app}`);
});

test('--route-connect binds outbound CONNECT sockets to the interface the route file chooses', async (t) => {
  const iface = freshAddress();
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: 'permit ALL\n', route: `${iface} ALL\n`, routeConnect: true });
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'u' });
  t.is(r.reply?.code, 90);
  r.socket.destroy();
  const out = s.events.find((e) => e.type === 'outbound');
  t.is(out?.type === 'outbound' ? out.local.address : undefined, iface);
});
