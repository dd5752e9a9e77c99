import test from 'ava';
import { containerLookup } from '../../../../src/runtime/agent/identd.ts';

// /proc/net/tcp as the kernel writes it (little-endian hex), captured shape with invented values:
// 10.1.0.10:40000 <-> 10.1.0.1:1080 owned by uid 1001; the same local port to another peer by 0.
const procText = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0A00010A:9C40 0100010A:0438 01 00000000:00000000 00:00000000 00000000  1001        0 4242 1 0000000000000000 20 4 30 10 -1
   1: 0A00010A:9C40 0200010A:0438 01 00000000:00000000 00:00000000 00000000     0        0 4243 1 0000000000000000 20 4 30 10 -1
   2: 0A00010A:9C41 0100010A:0438 01 00000000:00000000 00:00000000 00000000  4000        0 4244 1 0000000000000000 20 4 30 10 -1
`;

test("the container's identd names the uid that owns the connection in the topology's terms", async (t) => {
  const lookup = containerLookup(
    [
      { name: 'x', uid: 1001 },
      { name: 'root', uid: 0 },
    ],
    async () => procText,
  );
  const q = (localPort: number, peer: string) => ({
    localPort,
    remotePort: 1080,
    peer: { address: peer, port: 45000 },
    local: { address: '10.1.0.10', port: 113 },
  });
  t.is(await lookup(q(40000, '10.1.0.1')), 'x');
  t.is(await lookup(q(40000, '10.1.0.2')), 'root');
  t.is(await lookup(q(40001, '10.1.0.1')), '4000', 'a uid without a name is answered as the number');
  t.is(await lookup(q(40002, '10.1.0.1')), null);
});
