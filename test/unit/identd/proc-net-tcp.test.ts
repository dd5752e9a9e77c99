import { readFileSync } from 'node:fs';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { endianness } from 'node:os';
import test from 'ava';
import { findConnection, ownerOf, parseProcNetTcp } from '../../../src/identd/proc-net-tcp.ts';
import { testWhen } from '../../helpers/interop-tools.ts';

// Captured on Linux x86_64 (little-endian) as root: listeners on 127.0.0.1:23411 and [::]:23412,
// connections 127.0.0.2:40597 → 127.0.0.1:23411, [::1]:43000 → [::1]:23412 and
// 127.0.0.1:49082 → 23412 (accepted by the dual-stack listener, so shown mapped in tcp6).
const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');
const tcp = parseProcNetTcp(fixture('proc-net-tcp.txt'));
const tcp6 = parseProcNetTcp(fixture('proc-net-tcp6.txt'));

test('IPv4 rows decode addresses, ports, state, uid and inode from the captured sample', (t) => {
  t.is(tcp.length, 4);
  t.deepEqual(tcp[0], {
    local: { address: '127.0.0.1', port: 23411 },
    remote: { address: '0.0.0.0', port: 0 },
    state: 'LISTEN',
    uid: 0,
    inode: 114621,
  });
  t.deepEqual(tcp[1], {
    local: { address: '127.0.0.1', port: 23411 },
    remote: { address: '127.0.0.2', port: 40597 },
    state: 'ESTABLISHED',
    uid: 0,
    inode: 114624,
  });
});

test('IPv6 rows decode native and IPv4-mapped addresses', (t) => {
  t.is(tcp6.length, 4);
  t.like(tcp6[0], { local: { address: '::', port: 23412 }, state: 'LISTEN' });
  t.like(tcp6[1], { local: { address: '::1', port: 23412 }, remote: { address: '::1', port: 43000 } });
  t.like(tcp6[3], {
    local: { address: '::ffff:127.0.0.1' },
    remote: { address: '::ffff:127.0.0.1', port: 49082 },
  });
});

test('the connection an identd is asked about is found by its ports and the asking host', (t) => {
  const rows = [...tcp, ...tcp6];
  // identd on 127.0.0.2 asked by 127.0.0.1: "40597 , 23411"
  t.is(findConnection(rows, 40597, { address: '127.0.0.1', port: 23411 })?.inode, 114623);
  // a mapped row matches the plain IPv4 asker
  t.is(findConnection(rows, 23412, { address: '127.0.0.1', port: 49082 })?.inode, 115181);
  t.is(findConnection(rows, 43000, { address: '::1', port: 23412 })?.inode, 115178);
  t.is(ownerOf(rows, 40597, { address: '127.0.0.9', port: 23411 }), null, 'another host: no owner');
  t.is(ownerOf(rows, 40597, { address: '127.0.0.1', port: 23411 }, '127.0.0.3'), null, 'other local address');
});

// Hand-written rows (not captured) so owners differ: uid 1000 owns one connection; a TIME_WAIT
// row for the same ports has no owner; a listening socket is never an answer.
const handWritten = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100000A:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1001        0 5000 1 0 100 0 0 10 0
   1: 0100000A:C350 0101000A:0438 06 00000000:00000000 03:00001000 00000000     0        0 0 3 0
   2: 0100000A:C350 0101000A:0438 01 00000000:00000000 00:00000000 00000000  1000        0 5001 1 0 20 0 0 10 -1
`;

test('the owner is the uid of the live connection, never a TIME_WAIT or listening row', (t) => {
  const rows = parseProcNetTcp(handWritten);
  t.is(ownerOf(rows, 50000, { address: '10.0.1.1', port: 1080 }), 1000);
  t.is(ownerOf(rows, 8080, { address: '0.0.0.0', port: 0 }), null);
});

test('big-endian text reads the address words in order', (t) => {
  const rows = parseProcNetTcp('   0: 7F000001:0050 7F000002:1000 01 0:0 0:0 0 42 0 7 1', {
    endianness: 'BE',
  });
  t.like(rows[0], {
    local: { address: '127.0.0.1', port: 80 },
    remote: { address: '127.0.0.2', port: 4096 },
    uid: 42,
  });
});

const testWithProc = testWhen('the live /proc/net/tcp', () => {
  try {
    readFileSync('/proc/net/tcp', 'utf8');
    return null;
  } catch (err) {
    return `no /proc/net/tcp here (${(err as Error).message})`;
  }
});

testWithProc(
  'a socket this test opens appears in the live /proc/net/tcp owned by this process uid',
  async (t) => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const accepted = new Promise<Socket>((r) => server.once('connection', r));
    const client = tcpConnect({ host: '127.0.0.1', port, localAddress: '127.0.0.3' });
    await new Promise((r) => client.once('connect', r));
    const peer = await accepted;
    try {
      const rows = parseProcNetTcp(readFileSync('/proc/net/tcp', 'utf8'), { endianness: endianness() });
      // As the identd on 127.0.0.3 would be asked: "<client port> , <server port>" by 127.0.0.1.
      const uid = ownerOf(rows, client.localPort as number, { address: '127.0.0.1', port });
      t.is(uid, process.getuid?.() ?? -1);
      t.is(
        ownerOf(rows, port, { address: '127.0.0.3', port: client.localPort as number }),
        uid,
        'the server end too',
      );
    } finally {
      client.destroy();
      peer.destroy();
      server.close();
    }
  },
);
