import test from 'ava';
import type { Lab } from '../../../src/runtime/runtime.ts';
import { upReference } from './lab-helpers.ts';

/** a.3 / e: BIND on a multi-homed firewall listens on the interface facing the peer. */

let lab: Lab;
test.before(async () => {
  lab = await upReference('multihomed-bind');
});
test.after.always(async () => {
  await lab?.down();
});

for (const [peer, iface] of [
  ['ftp', '192.0.2.1'],
  ['mirror', '172.16.0.1'],
] as const) {
  test.serial(`BIND for ${peer} listens on ${iface} and ${peer} connects back`, async (t) => {
    const outcome = await lab.probe({
      from: 'C',
      user: 'x',
      useSocksConf: true,
      protocol: 'socks4',
      command: 'bind',
      target: { host: lab.host(peer).address(), port: 20 },
      bindPeer: { from: peer },
      send: `data from ${peer}\n`,
    });
    t.is(outcome.reply, 90);
    t.is(outcome.bound?.address, iface);
    t.is(outcome.secondReply, 90);
    t.is(outcome.received, `data from ${peer}\n`);
  });
}

test.serial(
  'a BIND whose expected peer is not the one connecting is refused in the second reply',
  async (t) => {
    const outcome = await lab.probe({
      from: 'C',
      user: 'x',
      useSocksConf: true,
      protocol: 'socks4',
      command: 'bind',
      target: { host: lab.host('ftp').address(), port: 20 },
      bindPeer: { from: 'fw' },
    });
    t.is(outcome.reply, 90);
    t.is(outcome.secondReply, 91);
  },
);
