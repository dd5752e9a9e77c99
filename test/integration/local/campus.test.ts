import test from 'ava';
import type { Lab, ProbeProtocol } from '../../../src/runtime/runtime.ts';
import { type Of, settled, upReference } from './lab-helpers.ts';

/** The rsockd(8) socks.conf: lab via its gateway, the domain direct, everything else via the firewall. */

let lab: Lab;
test.before(async () => {
  lab = await upReference('campus');
});
test.after.always(async () => {
  await lab?.down();
});

const cases: {
  target: string;
  route: { action: 'deny' | 'direct' | 'sockd'; line: number };
  via: string | null;
  peer: string;
}[] = [
  {
    target: 'scope.lab.example.com',
    route: { action: 'sockd', line: 3 },
    via: '10.10.0.2',
    peer: '10.20.0.1',
  },
  { target: 'wiki.example.com', route: { action: 'direct', line: 5 }, via: null, peer: '10.10.0.1' },
  { target: 'www.example.net', route: { action: 'sockd', line: 7 }, via: '10.10.0.3', peer: '203.0.113.1' },
];

for (const protocol of ['socks4', 'socks4a', 'socks5'] as ProbeProtocol[]) {
  for (const c of cases) {
    test.serial(
      `${protocol} to ${c.target} goes ${c.via ? `via ${c.via}` : 'direct'} (socks.conf line ${c.route.line})`,
      async (t) => {
        const mark = lab.events().length;
        const outcome = await lab.probe({
          from: 'ws.example.com',
          user: 'alice',
          useSocksConf: true,
          protocol,
          command: 'connect',
          target: { host: c.target, port: 7 },
          send: `to ${c.target}`,
        });
        const events = await settled(lab, mark, outcome);
        t.is(outcome.reply, protocol === 'socks5' ? 0 : 90);
        t.is(outcome.received, `to ${c.target}`);
        const route = events.find(
          (e): e is Of<'route'> => e.type === 'route' && e.host === 'socks.example.com',
        );
        t.is(route?.action, c.route.action);
        t.is(route?.rule?.line, c.route.line);
        t.deepEqual(route?.servers, c.via ? [c.via] : []);
        const echo = events.find((e): e is Of<'echo'> => e.type === 'echo' && e.host === c.target);
        t.is(echo?.peer.address, c.peer);
      },
    );
  }
}
