import { createServer, type Socket } from 'node:net';
import test from 'ava';
import type { Net } from '../../../src/net/net.ts';
import { Credentials, encodeRfc1929Request } from '../../../src/protocol/rfc1929.ts';
import {
  decodeSocks5MethodChoice,
  decodeSocks5Reply,
  encodeSocks5Greeting,
  encodeSocks5Request,
  type Socks5ReplyMessage,
} from '../../../src/protocol/socks5.ts';
import { probeIpv6, testWhen } from '../../helpers/interop-tools.ts';
import {
  assertServes,
  closedWithin,
  connectTcp,
  echoThrough,
  freshAddress,
  readBytes,
  serverNet,
  startEcho,
  startServer,
  waitForLog,
} from './helpers.ts';

// Probed before any test is declared: ava wants every declaration in the same tick.
const v6 = await probeIpv6();
const testV6 = testWhen('IPv6 loopback ::1', () => v6.loopback);

// SOCKS 5 (i): method selection, RFC 1929, CONNECT/BIND with IPv4, IPv6 and domain addresses,
// and the i.3 reply codes.

const passwd = 'alice:{plain}wonderland\nbob:{sha256}' + '0'.repeat(64) + '\n';

async function readReply(socket: Socket): Promise<Socks5ReplyMessage | null> {
  let buf = Buffer.alloc(0);
  for (;;) {
    const r = decodeSocks5Reply(buf);
    if ('value' in r) return r.value;
    const more = await readBytes(socket, r.need);
    if (more.length === 0) return null;
    buf = Buffer.concat([buf, more]);
  }
}

interface S5 {
  socket: Socket;
  from: string;
  method: number;
  authStatus?: number;
}

async function greet(
  proxy: { host: string; port: number },
  methods: number[],
  creds?: [string, string],
): Promise<S5> {
  const socket = await connectTcp(proxy.host, proxy.port);
  socket.on('error', () => {});
  const from = socket.localAddress ?? '';
  socket.write(encodeSocks5Greeting(methods));
  const choice = decodeSocks5MethodChoice(await readBytes(socket, 2));
  const method = 'value' in choice ? choice.value.method : -1;
  if (method === 2 && creds) {
    socket.write(encodeRfc1929Request(new Credentials(creds[0], creds[1])));
    const st = await readBytes(socket, 2);
    return { socket, from, method, authStatus: st[1]! };
  }
  return { socket, from, method };
}

async function request(
  s: S5,
  command: 'connect' | 'bind' | 'udp',
  address: string,
  port: number,
): Promise<Socks5ReplyMessage | null> {
  s.socket.write(encodeSocks5Request({ command, address, port }));
  return readReply(s.socket);
}

test('no-auth CONNECT to an IPv4 address succeeds with BND = the outbound local address', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: 'permit ALL\n', socks5: true });
  const c = await greet(s, [0x00]);
  t.is(c.method, 0x00);
  const rep = await request(c, 'connect', echo.host, echo.port);
  t.is(rep?.code, 0x00);
  const out = s.events.find((e) => e.type === 'outbound');
  t.deepEqual(
    rep && { address: rep.address, port: rep.port },
    out?.type === 'outbound' ? out.local : undefined,
  );
  t.deepEqual(await echoThrough(c.socket, Buffer.from('five')), Buffer.from('five'));
  c.socket.destroy();
  await waitForLog(s, (l) => l.startsWith(`connected -- Connect from (unknown)@${c.from} to ${echo.host}`));
});

test('username/password is chosen when a passwd file exists and the name becomes the user-id', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: 'permit *=alice ALL\n', socks5: true, passwd });
  const c = await greet(s, [0x00, 0x02], ['alice', 'wonderland']);
  t.is(c.method, 0x02);
  t.is(c.authStatus, 0x00);
  const rep = await request(c, 'connect', echo.host, echo.port);
  t.is(rep?.code, 0x00);
  c.socket.destroy();
  await waitForLog(s, (l) => l.startsWith(`connected -- Connect from alice(unknown)@${c.from}`));
});

test('a wrong password fails the sub-negotiation and closes; the next client is served', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: 'permit ALL\n', socks5: true, passwd });
  const c = await greet(s, [0x02], ['alice', 'rabbit-hole']);
  t.is(c.authStatus, 0x01);
  t.true(await closedWithin(c.socket, 5000));
  const ev = s.events.find((e) => e.type === 'decision');
  t.is(ev?.type === 'decision' ? ev.reason : undefined, 'auth-failed');
  t.false(JSON.stringify(s.events).includes('rabbit-hole'));
  await assertServes(t, s, echo);
});

test('--socks5-auth required refuses a client offering only no-auth with 0xFF', async (t) => {
  const s = await startServer(t, { sockdConf: 'permit ALL\n', socks5: true, socks5Auth: 'required', passwd });
  const c = await greet(s, [0x00]);
  t.is(c.method, 0xff);
  t.true(await closedWithin(c.socket, 5000));
});

test('unauthenticated clients have the empty user-id, so *= lists do not match them (0x02)', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: 'permit *=alice ALL\n', socks5: true });
  const c = await greet(s, [0x00]);
  const rep = await request(c, 'connect', echo.host, echo.port);
  t.is(rep?.code, 0x02);
  await waitForLog(s, (l) => l.startsWith('refused -- Connect from (unknown)@'));
});

test('a domain name is resolved like a 4A name; an unknown one gives 0x04', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, {
    sockdConf: 'permit ALL\n',
    socks5: true,
    hosts: `${echo.host} echo.test\n`,
  });
  const c = await greet(s, [0x00]);
  t.is((await request(c, 'connect', 'echo.test', echo.port))?.code, 0x00);
  t.deepEqual(await echoThrough(c.socket, Buffer.from('dn')), Buffer.from('dn'));
  c.socket.destroy();
  const d = await greet(s, [0x00]);
  t.is((await request(d, 'connect', 'nope.invalid', 80))?.code, 0x04);
});

test('a refused destination gives 0x05', async (t) => {
  const s = await startServer(t, { sockdConf: 'permit ALL\n', socks5: true });
  const c = await greet(s, [0x00]);
  t.is((await request(c, 'connect', freshAddress(), 9))?.code, 0x05);
});

test('UDP ASSOCIATE gives 0x07 and an unknown address type 0x08', async (t) => {
  const s = await startServer(t, { sockdConf: 'permit ALL\n', socks5: true });
  const c = await greet(s, [0x00]);
  t.is((await request(c, 'udp', '0.0.0.0', 0))?.code, 0x07);
  const d = await greet(s, [0x00]);
  d.socket.write(Buffer.from([5, 1, 0, 0x09, 1, 2, 3, 4, 0, 80]));
  t.is((await readReply(d.socket))?.code, 0x08);
});

testV6('CONNECT to an IPv6 address relays when the host has IPv6 loopback', async (t) => {
  const v6echo = createServer((c) => {
    // The client's destroy() can reach this side as a reset (the relay passes errors on).
    c.on('error', () => {});
    c.pipe(c);
  });
  await new Promise<void>((resolve) => v6echo.listen(0, '::1', resolve));
  t.teardown(() => v6echo.close());
  const port = (v6echo.address() as { port: number }).port;
  const s = await startServer(t, { sockdConf: 'permit ALL\n', socks5: true });
  const c = await greet(s, [0x00]);
  t.is((await request(c, 'connect', '::1', port))?.code, 0x00);
  t.deepEqual(await echoThrough(c.socket, Buffer.from('six')), Buffer.from('six'));
  c.socket.destroy();
  await waitForLog(s, (l) => l.startsWith('connected -- Connect from (unknown)@') && l.includes(' to ::1 '));
});

test('SOCKS 5 BIND reports the client-facing address first and the peer second', async (t) => {
  const app = freshAddress();
  const s = await startServer(t, { sockdConf: 'permit ALL\n', socks5: true });
  const c = await greet(s, [0x00]);
  const first = await request(c, 'bind', app, 21);
  t.is(first?.code, 0x00);
  t.is(first?.address, s.host);
  const peer = await connectTcp(s.host, first!.port, app);
  const second = await readReply(c.socket);
  t.deepEqual(second && [second.code, second.address, second.port], [0x00, app, peer.localPort]);
  peer.destroy();
  c.socket.destroy();
});

test('the establishment timer gives SOCKS 5 clients 0x04 and logs timed-out', async (t) => {
  const blackhole = freshAddress();
  const net: Net = {
    listen: (o, cb) => serverNet.listen(o, cb),
    connect: (o) => (o.host === blackhole ? new Promise<never>(() => {}) : serverNet.connect(o)),
  };
  const s = await startServer(t, {
    sockdConf: 'permit ALL\n',
    socks5: true,
    net,
    timers: { establish: 300 },
  });
  const c = await greet(s, [0x00]);
  t.is((await request(c, 'connect', blackhole, 80))?.code, 0x04);
  await waitForLog(s, (l) => l === `timed-out -- Connect from (unknown)@${c.from} to ${blackhole} (http)`);
});
