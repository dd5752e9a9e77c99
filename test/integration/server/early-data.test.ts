import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import type { Resolver } from '../../../src/common/resolver.ts';
import { productionNet } from '../../../src/net/production-net.ts';
import { encodeSocks4Request } from '../../../src/protocol/socks4.ts';
import { encodeSocks5Greeting, encodeSocks5Request } from '../../../src/protocol/socks5.ts';
import type { IdentdClient } from '../../../src/server/identd-query.ts';
import type { CommandRunner } from '../../../src/server/options.ts';
import { TableResolver } from '../../../src/server/resolvers.ts';
import {
  connectTcp,
  freshAddress,
  randomPort,
  readBytes,
  sha256,
  slowRunner,
  startServer,
  waitForLog,
} from './helpers.ts';

// Early payload (b.1): bytes a client sends after its request, in the request's own segment or
// while the request is being decided, reach the destination after the reply, whole and in order,
// up to the early buffer (64 KiB) and beyond it by pausing the client's reads, never by closing.

const permitAll = 'permit 127.0.0.0 255.0.0.0\n';

const nets = [
  ['libuv handles', productionNet('uv')],
  ['node:net', productionNet('node')],
] as const;

/** A destination that keeps every byte until the peer's EOF, then answers `n` and closes. */
async function startRecorder(
  t: ExecutionContext,
  host = freshAddress(),
): Promise<{ host: string; port: number; received: Promise<Buffer> }> {
  let settle!: (b: Buffer) => void;
  const received = new Promise<Buffer>((r) => {
    settle = r;
  });
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    const parts: Buffer[] = [];
    s.on('error', () => {});
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('end', () => {
      const all = Buffer.concat(parts);
      settle(all);
      s.end(String(all.length));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const a = server.address();
  return { host, port: typeof a === 'object' && a ? a.port : 0, received };
}

/** Read until EOF (bounded by the timeout). */
function readAll(socket: Socket, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts));
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (c: Buffer) => parts.push(c));
    socket.once('end', done);
    socket.once('close', done);
    socket.resume();
  });
}

type Proto = 'socks4' | 'socks4a' | 'socks5';

/** The bytes a client sends to ask for `dst:port`, as one buffer; and the reply length(s) to read. */
function requestBytes(
  proto: Proto,
  dst: string,
  port: number,
  name: string,
): { bytes: Buffer; reply: number } {
  if (proto === 'socks4')
    return { bytes: encodeSocks4Request({ command: 'connect', port, address: dst, user: 'u' }), reply: 8 };
  if (proto === 'socks4a')
    return {
      bytes: encodeSocks4Request({ command: 'connect', port, hostname: name, user: 'u' }),
      reply: 8,
    };
  // Greeting and request pipelined: the client does not wait for the method choice.
  return {
    bytes: Buffer.concat([
      encodeSocks5Greeting([0]),
      encodeSocks5Request({ command: 'connect', address: dst, port }),
    ]),
    reply: 2 + 10,
  };
}

for (const [label, net] of nets) {
  for (const proto of ['socks4', 'socks4a', 'socks5'] as const) {
    for (const size of [4095, 4096, 65_536]) {
      test(`${proto} CONNECT with ${size} bytes of early payload in the request's own write delivers them all, in order (${label})`, async (t) => {
        const dest = await startRecorder(t);
        const s = await startServer(t, {
          sockdConf: permitAll,
          socks5: true,
          hosts: `${dest.host} early-dest.test\n`,
          net,
        });
        const early = randomBytes(size);
        const { bytes, reply } = requestBytes(proto, dest.host, dest.port, 'early-dest.test');
        const client = await connectTcp(s.host, s.port);
        client.on('error', () => {});
        client.write(Buffer.concat([bytes, early]));
        const answer = await readBytes(client, reply);
        t.is(answer.length, reply, 'a reply, not a silent close');
        t.is(answer[reply - (proto === 'socks5' ? 9 : 7)], proto === 'socks5' ? 0 : 90);
        client.end();
        const got = await dest.received;
        t.is(got.length, size);
        t.is(sha256(got), sha256(early));
        t.is((await readAll(client)).toString(), String(size));
        await waitForLog(s, (l) => l.startsWith(`${size} bytes from `));
      });
    }
  }

  for (const proto of ['socks4', 'socks5'] as const) {
    test(`${proto} BIND with 4096 bytes of early payload in the request's write hands them to the peer after the second reply (${label})`, async (t) => {
      const app = freshAddress();
      const s = await startServer(t, { sockdConf: 'permit ALL\n', socks5: true, net });
      const early = randomBytes(4096);
      const client = await connectTcp(s.host, s.port);
      client.on('error', () => {});
      const request =
        proto === 'socks4'
          ? encodeSocks4Request({ command: 'bind', port: 21, address: app, user: 'u' })
          : Buffer.concat([
              encodeSocks5Greeting([0]),
              encodeSocks5Request({ command: 'bind', address: app, port: 21 }),
            ]);
      client.write(Buffer.concat([request, early]));
      // SOCKS 4: VN CD PORT ADDR; SOCKS 5: method choice, then VER REP RSV ATYP ADDR PORT.
      const first = await readBytes(client, proto === 'socks4' ? 8 : 12);
      t.is(proto === 'socks4' ? first[1] : first[3], proto === 'socks4' ? 90 : 0);
      const port = proto === 'socks4' ? first.readUInt16BE(2) : first.readUInt16BE(10);
      const peer = await connectTcp(s.host, port, app);
      const second = await readBytes(client, proto === 'socks4' ? 8 : 10);
      t.is(second[1], proto === 'socks4' ? 90 : 0);
      const got = await readBytes(peer, early.length);
      t.is(sha256(got), sha256(early));
      peer.destroy();
      client.destroy();
    });
  }

  test(`early payload in a CONNECT's write reaches the destination through an upstream sockd (${label})`, async (t) => {
    const dest = await startRecorder(t);
    const upstreamPort = randomPort();
    const upstream = await startServer(t, {
      sockdConf: 'permit ALL\n',
      host: freshAddress(),
      port: upstreamPort,
      net,
    });
    const s = await startServer(t, {
      mode: 'rsockd',
      sockdConf: 'permit ALL\n',
      socksConf: `sockd @=${upstream.host} ALL\n`,
      upstreamPort,
      net,
    });
    const early = randomBytes(4096);
    const client = await connectTcp(s.host, s.port);
    client.on('error', () => {});
    client.write(
      Buffer.concat([
        encodeSocks4Request({ command: 'connect', port: dest.port, address: dest.host, user: 'u' }),
        early,
      ]),
    );
    t.is((await readBytes(client, 8))[1], 90);
    client.end();
    const got = await dest.received;
    t.is(sha256(got), sha256(early));
  });

  test(`more than the 64 KiB early buffer pauses the client instead of closing it; everything arrives (${label})`, async (t) => {
    const dest = await startRecorder(t);
    const s = await startServer(t, {
      sockdConf: 'permit 127.0.0.0 255.0.0.0 : slow\n',
      commands: slowRunner(400),
      net,
    });
    const client = await connectTcp(s.host, s.port);
    client.on('error', () => {});
    const body = randomBytes(1024 * 1024);
    client.write(
      Buffer.concat([
        encodeSocks4Request({ command: 'connect', port: dest.port, address: dest.host, user: 'u' }),
        body,
      ]),
    );
    client.end();
    t.is((await readBytes(client, 8))[1], 90);
    const got = await dest.received;
    t.is(got.length, body.length);
    t.is(sha256(got), sha256(body));
  });
}

/**
 * Part A in the request's own write, part B while the decision is slow: the destination must
 * see A then B. Each slow step of the decision in turn.
 */
interface SlowStep {
  readonly name: string;
  /** `began` is called when the slow step starts: the test sends part B then, not after a guess. */
  readonly setup: (began: () => void) => {
    readonly conf: string;
    readonly extra: Partial<Parameters<typeof startServer>[1]>;
  };
}

function slowResolver(ms: number, hosts: string, began: () => void): Resolver {
  const table = new TableResolver(hosts);
  const later = <T>(v: Promise<T>) => {
    began();
    return new Promise<T>((r) => setTimeout(() => r(v), ms));
  };
  return { reverse: (a) => later(table.reverse(a)), forward: (n) => later(table.forward(n)) };
}

const slowIdentd =
  (ms: number, began: () => void): IdentdClient =>
  () => {
    began();
    return new Promise((r) =>
      setTimeout(() => r({ kind: 'user', user: 'u', answer: 'USERID : UNIX : u' }), ms),
    );
  };

/** Every command takes `ms` and succeeds, like slowRunner, and says when it starts. */
function slowCommands(ms: number, began: () => void): CommandRunner {
  const slow = slowRunner(ms);
  return {
    run: (command, options) => {
      began();
      return slow.run(command, options);
    },
  };
}

// Each step takes 2 s: part B is written as soon as the step begins, well inside it even when a
// loaded machine is slow to run the test's side.
const slowSteps: readonly SlowStep[] = [
  {
    name: 'a rule command',
    setup: (began) => ({
      conf: 'permit 127.0.0.0 255.0.0.0 : slow\n',
      extra: { commands: slowCommands(2000, began) },
    }),
  },
  {
    name: 'a DNS lookup',
    setup: (began) => ({ conf: permitAll, extra: { resolver: slowResolver(2000, '', began) } }),
  },
  {
    name: 'an identd query',
    setup: (began) => ({
      conf: 'permit ?=I 127.0.0.0 255.0.0.0\n',
      extra: { identd: slowIdentd(2000, began) },
    }),
  },
];

for (const [label, net] of nets) {
  for (const step of slowSteps) {
    test(`bytes in the request's segment come before bytes sent while ${step.name} is slow (${label})`, async (t) => {
      const dest = await startRecorder(t);
      let began!: () => void;
      const slowStepBegan = new Promise<void>((resolve) => {
        began = resolve;
      });
      const { conf, extra } = step.setup(() => began());
      const s = await startServer(t, { sockdConf: conf, net, ...extra });
      const a = Buffer.alloc(5000, 0x41);
      const b = Buffer.alloc(3000, 0x42);
      const client = await connectTcp(s.host, s.port);
      client.on('error', () => {});
      client.write(
        Buffer.concat([
          encodeSocks4Request({ command: 'connect', port: dest.port, address: dest.host, user: 'u' }),
          a,
        ]),
      );
      await slowStepBegan; // the request is read and being decided
      client.end(b);
      t.is((await readBytes(client, 8))[1], 90);
      const got = await dest.received;
      t.is(got.length, a.length + b.length);
      t.true(got.equals(Buffer.concat([a, b])), 'A then B');
    });
  }

  test(`bytes in a BIND request's segment come before bytes sent while the BIND waits for its peer (${label})`, async (t) => {
    const app = freshAddress();
    const s = await startServer(t, { sockdConf: 'permit ALL\n', net });
    const a = Buffer.alloc(5000, 0x41);
    const b = Buffer.alloc(3000, 0x42);
    const client = await connectTcp(s.host, s.port);
    client.on('error', () => {});
    client.write(
      Buffer.concat([encodeSocks4Request({ command: 'bind', port: 21, address: app, user: 'u' }), a]),
    );
    const first = await readBytes(client, 8);
    t.is(first[1], 90);
    client.write(b);
    await new Promise((r) => setTimeout(r, 150));
    const peer = await connectTcp(s.host, first.readUInt16BE(2), app);
    t.is((await readBytes(client, 8))[1], 90);
    const got = await readBytes(peer, a.length + b.length);
    t.true(got.equals(Buffer.concat([a, b])), 'A then B');
    peer.destroy();
    client.destroy();
  });
}

/** A one-shot identd on `host:port` that answers every query with `user` as raw bytes. */
async function rawIdentd(t: ExecutionContext, host: string, port: number, user: Buffer): Promise<void> {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.once('data', (q: Buffer) => {
      const ports = q.toString('latin1').trim();
      s.end(Buffer.concat([Buffer.from(`${ports} : USERID : UNIX : `, 'latin1'), user, Buffer.from('\r\n')]));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  t.teardown(() => server.close());
}

test('a non-ASCII identd user equals the same bytes as a SOCKS 4 USERID: strict mode grants', async (t) => {
  const user = Buffer.from('josé', 'utf8');
  const other = Buffer.from('josè', 'utf8');
  const identdPort = randomPort();
  const dest = await startRecorder(t);
  const s = await startServer(t, { sockdConf: 'permit ?=I 127.0.0.0 255.0.0.0\n', identdPort });
  for (const [claim, code] of [
    [user, 90],
    [other, 93],
  ] as const) {
    const from = freshAddress();
    await rawIdentd(t, from, identdPort, user);
    const client = await connectTcp(s.host, s.port, from);
    client.on('error', () => {});
    const req = encodeSocks4Request({ command: 'connect', port: dest.port, address: dest.host, user: '' });
    // USERID bytes spliced in raw: header (8) + user + NUL.
    client.write(Buffer.concat([req.subarray(0, 8), claim, Buffer.from([0])]));
    t.is((await readBytes(client, 8))[1], code, claim.toString('utf8'));
    client.destroy();
  }
  const ev = s.events.filter((e) => e.type === 'identd');
  t.deepEqual(
    ev.map((e) => (e.type === 'identd' ? e.verdict : '')),
    ['confirmed', 'mismatch'],
  );
});
