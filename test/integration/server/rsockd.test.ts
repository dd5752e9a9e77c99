import { createServer, type Socket } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { startFakeIdentd } from '../../../src/identd/fake-identd.ts';
import type { Net } from '../../../src/net/net.ts';
import { decodeSocks4Request, encodeSocks4Reply } from '../../../src/protocol/socks4.ts';
import {
  assertServes,
  closedWithin,
  echoThrough,
  freshAddress,
  randomPort,
  readBytes,
  serverNet,
  sha256,
  socks4,
  startEcho,
  startServer,
  waitForLog,
} from './helpers.ts';

// rsockd routing (d): deny / direct / via servers with fail-over, the upstream request, reply
// mapping, the g.7 attribution example and a 3-hop cascade.

/** The Net of a host with one address: outbound connections leave from that address. */
function hostNet(address: string): Net {
  return {
    listen: (o, cb) => serverNet.listen(o, cb),
    connect: (o) => serverNet.connect({ ...o, localAddress: o.localAddress ?? address }),
  };
}

/** A fake upstream SOCKS 4 server answering every request with `code`; records the requests. */
async function fakeUpstream(
  t: import('ava').ExecutionContext,
  host: string,
  port: number,
  behave: (req: ReturnType<typeof decodeSocks4Request>, socket: Socket) => void,
): Promise<void> {
  const srv = createServer((c) => {
    c.on('error', () => {});
    let buf = Buffer.alloc(0);
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const r = decodeSocks4Request(buf);
      if ('value' in r) {
        c.removeAllListeners('data');
        behave(r, c);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(port, host, () => r()));
  t.teardown(() => srv.close());
}

test('routing deny refuses with 91 and logs the refused connect() and the failed lines', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { mode: 'rsockd', sockdConf: 'permit ALL\n', socksConf: 'deny ALL\n' });
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'pat' });
  t.is(r.reply?.code, 91);
  await waitForLog(s, (l) => l === `refused -- connect() from pat(unknown) to ${echo.host} (${echo.port})`);
  await waitForLog(
    s,
    (l) =>
      l ===
      `failed -- Connect from pat(unknown)@${r.from} to ${echo.host} (${echo.port}).  Error code: connect() Connection refused`,
  );
});

test('direct routing connects itself and logs connect() directly', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, {
    mode: 'rsockd',
    sockdConf: 'permit ALL\n',
    socksConf: 'direct ALL : echo route %u\n',
  });
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'pat' });
  t.is(r.reply?.code, 90);
  r.socket.destroy();
  await waitForLog(s, (l) => l === `connect() directly from pat(unknown) to ${echo.host} (${echo.port})`);
  t.deepEqual(s.commands, ['echo route pat']);
});

test('the d.7 loop skips a dead server and an unresolvable name and uses the next one', async (t) => {
  const port = randomPort();
  const echo = await startEcho(t);
  const alive = freshAddress();
  const dead = freshAddress();
  const a = await startServer(t, { host: alive, port, sockdConf: 'permit ALL\n' });
  const b = await startServer(t, {
    mode: 'rsockd',
    sockdConf: 'permit ALL\n',
    socksConf: `sockd @=${dead},nosuch.invalid,${alive} ALL\n`,
    upstreamPort: port,
  });
  const r = await socks4({ proxy: b, dst: echo.host, port: echo.port, user: 'x' });
  t.is(r.reply?.code, 90);
  const msg = Buffer.from('via failover');
  t.deepEqual(await echoThrough(r.socket, msg), msg);
  r.socket.destroy();
  t.is(b.logs[0], `Failed to connect to sockd at ${dead}: Connection refused`);
  t.is(b.logs[1], 'Failed to connect to sockd at nosuch.invalid: host not found');
  t.is(b.logs[2], `connect() from x(unknown) to ${echo.host} (${echo.port}) using sockd at ${alive}`);
  await waitForLog(a, (l) => l.startsWith('connected -- Connect from x(unknown)@'));
  const attempts = b.events.filter((e) => e.type === 'upstream-attempt');
  t.deepEqual(
    attempts.map((e) => (e.type === 'upstream-attempt' ? [e.server, e.ok] : [])),
    [
      [dead, false],
      ['nosuch.invalid', false],
      [alive, true],
    ],
  );
});

test('all servers down gives 91 with one Failed line per server, then failed', async (t) => {
  const port = randomPort();
  const echo = await startEcho(t);
  const d1 = freshAddress();
  const d2 = freshAddress();
  const b = await startServer(t, {
    mode: 'rsockd',
    sockdConf: 'permit ALL\n',
    socksConf: `sockd @=${d1},${d2} ALL\n`,
    upstreamPort: port,
  });
  const r = await socks4({ proxy: b, dst: echo.host, port: echo.port, user: 'x' });
  t.is(r.reply?.code, 91);
  t.deepEqual(b.logs.slice(0, 3), [
    `Failed to connect to sockd at ${d1}: Connection refused`,
    `Failed to connect to sockd at ${d2}: Connection refused`,
    `failed -- Connect from x(unknown)@${r.from} to ${echo.host} (${echo.port}).  Error code: connect() Connection refused`,
  ]);
});

test('a sockd line without a list and no default server fails at (none)', async (t) => {
  const echo = await startEcho(t);
  const b = await startServer(t, { mode: 'rsockd', sockdConf: 'permit ALL\n', socksConf: 'sockd ALL\n' });
  const r = await socks4({ proxy: b, dst: echo.host, port: echo.port });
  t.is(r.reply?.code, 91);
  await waitForLog(b, (l) => l === 'Failed to connect to sockd at (none)');
});

test('the upstream request carries the client USERID; upstream 92 becomes 91 and is final', async (t) => {
  const port = randomPort();
  const echo = await startEcho(t);
  const up1 = freshAddress();
  const up2 = freshAddress();
  const seen: string[] = [];
  await fakeUpstream(t, up1, port, (r, c) => {
    if ('value' in r) seen.push(`${r.value.user}@${r.value.address}:${r.value.port}`);
    c.end(encodeSocks4Reply(92));
  });
  await fakeUpstream(t, up2, port, (_r, c) => c.end(encodeSocks4Reply(90)));
  const b = await startServer(t, {
    mode: 'rsockd',
    sockdConf: 'permit ALL\n',
    socksConf: `sockd @=${up1},${up2} ALL\n`,
    upstreamPort: port,
  });
  const r = await socks4({ proxy: b, dst: echo.host, port: echo.port, user: 'carol' });
  t.is(r.reply?.code, 91);
  t.deepEqual(seen, [`carol@${echo.host}:${echo.port}`]);
  await waitForLog(b, (l) => l.startsWith('failed -- Connect from carol(unknown)@'));
  t.false(b.events.some((e) => e.type === 'upstream-attempt' && e.server === up2));
});

test('an unresolvable 4A name is passed upstream in 4A form', async (t) => {
  const port = randomPort();
  const up = freshAddress();
  let got: { name?: string; address: string } | undefined;
  await fakeUpstream(t, up, port, (r, c) => {
    if ('value' in r)
      got = { address: r.value.address, ...(r.value.hostname ? { name: r.value.hostname } : {}) };
    c.write(encodeSocks4Reply(90));
    c.pipe(c);
  });
  const b = await startServer(t, {
    mode: 'rsockd',
    sockdConf: 'permit ALL\n',
    socksConf: `sockd @=${up} ALL\n`,
    upstreamPort: port,
  });
  const r = await socks4({ proxy: b, dst: '', hostname: 'only.upstream.knows', port: 80, user: 'u' });
  t.is(r.reply?.code, 90);
  t.deepEqual(got, { address: '0.0.0.1', name: 'only.upstream.knows' });
  t.deepEqual(await echoThrough(r.socket, Buffer.from('abc')), Buffer.from('abc'));
  r.socket.destroy();
});

test('an upstream dying mid-stream ends only that session, with termination logs', async (t) => {
  const port = randomPort();
  const echo = await startEcho(t);
  const up = freshAddress();
  await fakeUpstream(t, up, port, (_r, c) => {
    c.write(Buffer.concat([encodeSocks4Reply(90), Buffer.from('partial')]));
    // RST once the client has seen 'partial' and answered: the upstream process died mid-stream.
    c.once('data', () => c.resetAndDestroy());
  });
  const b = await startServer(t, {
    mode: 'rsockd',
    sockdConf: 'permit ALL\n',
    socksConf: `direct ${echo.host} 255.255.255.255\nsockd @=${up} ALL\n`,
    upstreamPort: port,
  });
  const r = await socks4({ proxy: b, dst: '10.1.2.3', port: 80, user: 'u' });
  t.is(r.reply?.code, 90);
  t.is((await readBytes(r.socket, 7)).toString(), 'partial');
  r.socket.write('k');
  t.true(await closedWithin(r.socket, 10_000));
  await waitForLog(b, (l) => l.startsWith('terminated -- Connect from u(unknown)@'));
  await waitForLog(b, (l) => l === `1 bytes from ${r.from}, 7 bytes from 10.1.2.3`);
  await assertServes(t, b, echo);
});

/**
 * The g.7 chain: x on C → rsockd B (strict identd on C) → sockd A (lenient by default, `aConf`).
 * identd on C knows x; identd on B answers with the account running rsockd there: nobody.
 */
async function g7Chain(t: ExecutionContext, aConf: (B: string) => string) {
  const identdPort = randomPort();
  const port = randomPort();
  const C = freshAddress();
  const B = freshAddress();
  const A = freshAddress();
  const echo = await startEcho(t);
  for (const [host, owner] of [
    [C, 'x'],
    [B, 'nobody'],
  ] as const) {
    const id = await startFakeIdentd({
      net: serverNet,
      host,
      port: identdPort,
      behaviour: { kind: 'truthful' },
      lookup: () => owner,
    });
    t.teardown(() => id.close());
  }
  const a = await startServer(t, {
    host: A,
    port,
    sockdConf: aConf(B),
    identdDefault: 'lenient',
    identdPort,
  });
  const b = await startServer(t, {
    mode: 'rsockd',
    net: hostNet(B),
    host: B,
    sockdConf: 'permit ?=I ALL\n',
    socksConf: `sockd @=${A} ALL\n`,
    upstreamPort: port,
    identdPort,
  });
  const r = await socks4({ proxy: b, dst: echo.host, port: echo.port, user: 'x', from: C });
  return { a, b, r, echo, B, C };
}

test('g.7: A verifying identd of requests from rsockd B refuses x with 93, B answers 91', async (t) => {
  const { a, b, r, echo, B, C } = await g7Chain(t, () => 'permit ALL\n');
  t.is(r.reply?.code, 91);
  await waitForLog(a, (l) => l === `refused -- Connect from x(nobody)@${B} to ${echo.host} (${echo.port})`);
  await waitForLog(a, (l) => l === '*Alert*: real user is nobody, not x');
  await waitForLog(b, (l) => l.startsWith(`failed -- Connect from x(x)@${C} to `));
  const aReply = a.events.find((e) => e.type === 'reply');
  t.is(aReply?.type === 'reply' ? aReply.code : undefined, 93);
});

test('g.7: with ?=n for rsockd hosts at A, A logs x(unknown)@B and the request goes through', async (t) => {
  const { a, b, r, echo, B, C } = await g7Chain(t, (B) => `permit ?=n *=x ${B} 255.255.255.255\n`);
  t.is(r.reply?.code, 90);
  t.deepEqual(await echoThrough(r.socket, Buffer.from('g7')), Buffer.from('g7'));
  r.socket.destroy();
  await waitForLog(
    a,
    (l) => l === `connected -- Connect from x(unknown)@${B} to ${echo.host} (${echo.port})`,
  );
  await waitForLog(b, (l) => l === `connected -- Connect from x(x)@${C} to ${echo.host} (${echo.port})`);
  // Trace stitching: B's outbound local address is A's request client address.
  const out = b.events.find((e) => e.type === 'outbound');
  const req = a.events.find((e) => e.type === 'request');
  t.deepEqual(out?.type === 'outbound' ? out.local : null, req?.type === 'request' ? req.client : undefined);
});

test('a 3-hop cascade rsockd → rsockd → sockd carries 100 MiB intact', async (t) => {
  t.timeout(60_000);
  const port = randomPort();
  const h1 = freshAddress();
  const h2 = freshAddress();
  const h3 = freshAddress();
  // Destination: counts and hashes what it receives, then answers with the digest.
  const dstHost = freshAddress();
  const { createHash } = await import('node:crypto');
  const sink = createServer({ allowHalfOpen: true }, (c) => {
    const h = createHash('sha256');
    c.on('data', (d) => h.update(d));
    c.on('end', () => c.end(h.digest('hex')));
  });
  await new Promise<void>((r) => sink.listen(0, dstHost, () => r()));
  t.teardown(() => sink.close());
  const dstPort = (sink.address() as { port: number }).port;
  await startServer(t, { host: h3, port, sockdConf: 'permit ALL\n' });
  await startServer(t, {
    mode: 'rsockd',
    host: h2,
    port,
    sockdConf: 'permit ALL\n',
    socksConf: `sockd @=${h3} ALL\n`,
    upstreamPort: port,
  });
  const first = await startServer(t, {
    mode: 'rsockd',
    host: h1,
    sockdConf: 'permit ALL\n',
    socksConf: `sockd @=${h2} ALL\n`,
    upstreamPort: port,
  });
  const r = await socks4({ proxy: first, dst: dstHost, port: dstPort, user: 'bulk' });
  t.is(r.reply?.code, 90);
  const chunk = Buffer.alloc(1024 * 1024);
  const whole = createHash('sha256');
  for (let i = 0; i < 100; i++) {
    chunk.fill(i);
    whole.update(chunk);
    if (!r.socket.write(Buffer.from(chunk))) await new Promise((res) => r.socket.once('drain', res));
  }
  r.socket.end();
  const digest = await readBytes(r.socket, 64, 50_000);
  t.is(digest.toString(), whole.digest('hex'));
  await waitForLog(
    first,
    (l) => l === `${100 * 1024 * 1024} bytes from ${r.from}, 64 bytes from ${dstHost}`,
    10_000,
  );
  t.truthy(sha256);
});

test('BIND routing uses the bind() forms: bind() directly, and Refused -- bind() on deny', async (t) => {
  const app = freshAddress();
  const b = await startServer(t, {
    mode: 'rsockd',
    sockdConf: 'permit ALL\n',
    socksConf: `deny ${app} 255.255.255.255\ndirect ALL\n`,
  });
  const denied = await socks4({ proxy: b, command: 'bind', dst: app, port: 21, user: 'u' });
  t.is(denied.reply?.code, 91);
  await waitForLog(b, (l) => l === `Refused -- bind() from u(unknown) for ${app} (ftp)`);
  const other = freshAddress();
  const ok = await socks4({ proxy: b, command: 'bind', dst: other, port: 21, user: 'u' });
  t.is(ok.reply?.code, 90);
  ok.socket.destroy();
  await waitForLog(b, (l) => l === `bind() directly from u(unknown) for ${other} (ftp)`);
});
