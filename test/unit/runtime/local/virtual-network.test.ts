import { once } from 'node:events';
import test from 'ava';
import type { Conn } from '../../../../src/net/net.ts';
import { planLoopback } from '../../../../src/runtime/local/loopback-plan.ts';
import { VirtualNetwork } from '../../../../src/runtime/local/virtual-network.ts';
import { parseTopologyText } from '../../../../src/topology/load.ts';
import { eventually } from '../../../helpers/eventually.ts';

/** Three hosts: C on lan, B on lan+dmz, A on dmz. C and A share no network. */
const { topology } = await parseTopologyText(
  `networks:
  lan: { subnet: 10.1.0.0/24 }
  dmz: { subnet: 10.2.0.0/24 }
hosts:
  C: { role: client, addresses: { lan: 10.1.0.10 }, users: { x: 1001 } }
  B: { role: identd-only, addresses: { lan: 10.1.0.1, dmz: 10.2.0.2 } }
  A: { role: identd-only, addresses: { dmz: 10.2.0.1 } }
`,
  '/virtual/vn.yaml',
);

async function accept(vn: VirtualNetwork, host: string, user: string, port: number) {
  const conns: Conn[] = [];
  const listener = await vn.netFor(host, user).listen({ host: '0.0.0.0', port }, (c) => {
    conns.push(c);
    c.socket.on('data', (d) => c.socket.write(d));
  });
  return { listener, conns };
}

test('every interface gets its own address inside 127.0.0.0/8 and labs draw different bases', (t) => {
  const a = planLoopback(topology);
  const b = planLoopback(topology);
  t.is(a.interfaces.length, 4);
  for (const i of a.interfaces) t.regex(i.real, /^127\.\d+\.\d+\.\d+$/);
  t.is(new Set(a.interfaces.map((i) => i.real)).size, 4);
  // Two random bases colliding is possible but has probability < 1/50000.
  t.not(a.interfaces[0]?.real, b.interfaces[0]?.real);
});

test('a connection on a shared network carries topology addresses at both ends', async (t) => {
  const vn = new VirtualNetwork(topology, { privilegedPorts: false });
  const { listener, conns } = await accept(vn, 'B', 'root', 1080);
  t.teardown(() => listener.close());
  const conn = await vn.netFor('C', 'x').connect({ host: '10.1.0.1', port: 1080 });
  t.teardown(() => conn.socket.destroy());
  t.is(conn.local.address, '10.1.0.10');
  t.deepEqual(conn.remote, { address: '10.1.0.1', port: 1080 });
  let echoed = '';
  conn.socket.on('data', (d: Buffer) => {
    echoed += String(d);
  });
  conn.socket.write('ping');
  // Collected until all four bytes are in: one write need not arrive as one 'data' chunk.
  await eventually(() => echoed.length >= 4, 'the echo');
  t.is(echoed, 'ping');
  t.deepEqual(conns[0]?.remote, conn.local);
  t.deepEqual(conns[0]?.local, { address: '10.1.0.1', port: 1080 });
  // The real socket is on loopback, never on 10.x.
  t.regex(conn.socket.remoteAddress ?? '', /^127\./);
  t.not(conn.socket.remotePort, undefined);
});

test('ports below 1024 are remapped when not privileged and reach() tells where', async (t) => {
  const vn = new VirtualNetwork(topology, { privilegedPorts: false, keepPorts: true });
  const { listener } = await accept(vn, 'A', 'root', 113);
  t.teardown(() => listener.close());
  const real = vn.reach('10.2.0.1', 113);
  t.truthy(real);
  t.not(real?.port, 113);
  t.regex(real?.address ?? '', /^127\./);
  t.deepEqual(listener.local, { address: '10.2.0.1', port: 113 });
  const conn = await vn.netFor('B', 'root').connect({ host: '10.2.0.1', port: 113 });
  conn.socket.destroy();
  t.is(conn.local.address, '10.2.0.2', 'B dials A from its dmz interface');
});

test('with keepPorts a free high port keeps its number; by default every port is ephemeral', async (t) => {
  const kept = new VirtualNetwork(topology, { privilegedPorts: false, keepPorts: true });
  const a = await accept(kept, 'A', 'root', 23456);
  t.teardown(() => a.listener.close());
  t.is(kept.reach('10.2.0.1', 23456)?.port, 23456);
  const fresh = new VirtualNetwork(topology, { privilegedPorts: true });
  const b = await accept(fresh, 'A', 'root', 23457);
  t.teardown(() => b.listener.close());
  t.not(fresh.reach('10.2.0.1', 23457)?.port, 23457);
  t.deepEqual(b.listener.local, { address: '10.2.0.1', port: 23457 });
});

test('hosts without a shared network fail at once with ENETUNREACH (as on netns and Docker), or time out when configured so', async (t) => {
  const refused = new VirtualNetwork(topology, { privilegedPorts: false });
  const { listener } = await accept(refused, 'A', 'root', 2000);
  t.teardown(() => listener.close());
  const err = await t.throwsAsync(refused.netFor('C', 'x').connect({ host: '10.2.0.1', port: 2000 }));
  t.is((err as NodeJS.ErrnoException).code, 'ENETUNREACH');

  const timing = new VirtualNetwork(topology, { privilegedPorts: false, unreachable: 'timeout' });
  const started = Date.now();
  const err2 = await t.throwsAsync(
    timing.netFor('C', 'x').connect({ host: '10.2.0.1', port: 2000, timeoutMs: 80 }),
  );
  t.is((err2 as NodeJS.ErrnoException).code, 'ETIMEDOUT');
  t.true(Date.now() - started >= 70);
});

test('a cut network is unreachable (ENETUNREACH) until restored', async (t) => {
  const vn = new VirtualNetwork(topology, { privilegedPorts: false });
  const { listener } = await accept(vn, 'B', 'root', 2001);
  t.teardown(() => listener.close());
  vn.cutNetwork('lan');
  const err = await t.throwsAsync(vn.netFor('C', 'x').connect({ host: '10.1.0.1', port: 2001 }));
  t.is((err as NodeJS.ErrnoException).code, 'ENETUNREACH');
  vn.restoreNetwork('lan');
  const conn = await vn.netFor('C', 'x').connect({ host: '10.1.0.1', port: 2001 });
  conn.socket.destroy();
  t.pass();
});

test('an address outside the topology is unreachable and never dialled', async (t) => {
  const vn = new VirtualNetwork(topology, { privilegedPorts: false });
  for (const host of ['8.8.8.8', '127.0.0.53', '10.1.0.99']) {
    const err = await t.throwsAsync(vn.netFor('C', 'x').connect({ host: host, port: 53 }));
    t.is((err as NodeJS.ErrnoException).code, 'ENETUNREACH', host);
  }
});

test('a port nobody listens on is refused without dialling the real loopback', async (t) => {
  const vn = new VirtualNetwork(topology, { privilegedPorts: false });
  const err = await t.throwsAsync(vn.netFor('C', 'x').connect({ host: '10.1.0.1', port: 22 }));
  t.is((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  t.regex((err as Error).message, /10\.1\.0\.1:22/);
});

test('127.0.0.1 inside a host is that host itself', async (t) => {
  const vn = new VirtualNetwork(topology, { privilegedPorts: false });
  const { listener } = await accept(vn, 'B', 'root', 2002);
  t.teardown(() => listener.close());
  const conn = await vn.netFor('B', 'root').connect({ host: '127.0.0.1', port: 2002 });
  conn.socket.destroy();
  await t.throwsAsync(vn.netFor('C', 'x').connect({ host: '127.0.0.1', port: 2002 }), {
    code: 'ECONNREFUSED',
  });
});

test('the owner registry knows which user opened or accepted each connection', async (t) => {
  const vn = new VirtualNetwork(topology, { privilegedPorts: false });
  const { listener, conns } = await accept(vn, 'B', 'nobody', 2003);
  t.teardown(() => listener.close());
  const conn = await vn.netFor('C', 'x').connect({ host: '10.1.0.1', port: 2003 });
  await eventually(() => conns.length > 0, 'the accepted connection', 5_000);
  t.is(vn.owners.owner('C', conn.local.port, '10.1.0.1', 2003), 'x');
  t.is(vn.owners.owner('B', 2003, '10.1.0.10', conn.local.port), 'nobody');
  t.is(vn.owners.owner('C', conn.local.port, '10.1.0.1', 9999), null);
  t.is(conns.length, 1);
  conn.socket.destroy();
  await once(conn.socket, 'close');
  t.is(vn.owners.owner('C', conn.local.port, '10.1.0.1', 2003), null, 'forgotten after close');
});

test('listening on an address of another host is EADDRNOTAVAIL', async (t) => {
  const vn = new VirtualNetwork(topology, { privilegedPorts: false });
  await t.throwsAsync(
    vn.netFor('C', 'x').listen({ host: '10.1.0.1', port: 5 }, () => {}),
    {
      code: 'EADDRNOTAVAIL',
    },
  );
});
