/**
 * How long a 10-host topology takes to come up and go down on the netns runtime: 3 networks, two
 * dual-homed SOCKS servers, 5 clients with identd, 3 echo hosts; "up" ends when every host agent
 * (and server) is ready. Also the first probe through the cascade. Prints the figures; needs root
 * and a built dist/ (prints why not otherwise).
 *
 *   node --import=tsx test/bench/netns-up.bench.ts [rounds]
 */
import { performance } from 'node:perf_hooks';
import { type NetnsLab, netnsRuntime } from '../../src/runtime/netns/index.ts';
import type { ConfigName } from '../../src/topology/config-parsers.ts';
import type { HostModel, ResolvedTopology } from '../../src/topology/model.ts';
import { configText } from '../helpers/config-text.ts';

const conf = <K extends ConfigName>(name: K, text: string) =>
  configText(name, text, { file: `/bench/${name}`, line: 1, column: 1, inline: true });

const users = [
  { name: 'root', uid: 0 },
  { name: 'alice', uid: 1001 },
  { name: 'nobody', uid: 65534 },
];

/** lan 10.241.1.0/24 (clients, gw) — dmz 10.241.2.0/24 (gw, fw) — out 10.241.3.0/24 (fw, echo). */
function tenHosts(): ResolvedTopology {
  const hosts: HostModel[] = [];
  for (let i = 1; i <= 5; i++) {
    hosts.push({
      name: `ws${i}`,
      role: 'client',
      interfaces: [{ network: 'lan', address: `10.241.1.${10 + i}` }],
      users,
      identd: { behaviour: { kind: 'truthful' }, port: 113 },
      clientSocksConf: conf('socks.conf', 'sockd @=10.241.1.1 0.0.0.0 0.0.0.0\n'),
    });
  }
  hosts.push({
    name: 'gw',
    role: 'rsockd',
    interfaces: [
      { network: 'lan', address: '10.241.1.1' },
      { network: 'dmz', address: '10.241.2.2' },
    ],
    users,
    identd: { behaviour: { kind: 'truthful' }, port: 113 },
    server: {
      kind: 'rsockd',
      owner: 'nobody',
      port: 1080,
      identdDefault: 'strict',
      socks5: false,
      sockdConf: conf('sockd.conf', 'permit 10.241.1.0 255.255.255.0\ndeny 0.0.0.0 0.0.0.0\n'),
      socksConf: conf('socks.conf', 'sockd @=10.241.2.1 0.0.0.0 0.0.0.0\n'),
      userFiles: [],
      upstreamPort: 1080,
      identdPort: 113,
    },
  });
  hosts.push({
    name: 'fw',
    role: 'sockd',
    interfaces: [
      { network: 'dmz', address: '10.241.2.1' },
      { network: 'out', address: '10.241.3.1' },
    ],
    users,
    server: {
      kind: 'sockd',
      owner: 'root',
      port: 1080,
      identdDefault: 'off',
      socks5: false,
      sockdConf: conf('sockd.conf', 'permit 10.241.2.2 255.255.255.255\ndeny 0.0.0.0 0.0.0.0\n'),
      userFiles: [],
      upstreamPort: 1080,
      identdPort: 113,
    },
  });
  for (let i = 1; i <= 3; i++) {
    hosts.push({
      name: `srv${i}`,
      role: 'echo',
      interfaces: [{ network: 'out', address: `10.241.3.${10 + i}` }],
      users,
      echo: [{ port: 7, kind: 'echo' }],
    });
  }
  return {
    name: 'netns-bench-10',
    file: '/bench/netns-bench-10.yaml',
    networks: [
      { name: 'lan', subnet: '10.241.1.0/24' },
      { name: 'dmz', subnet: '10.241.2.0/24' },
      { name: 'out', subnet: '10.241.3.0/24' },
    ],
    hosts,
  };
}

const probe = await netnsRuntime.probe();
if (!probe.ok) {
  process.stdout.write(`netns-up: skipped (${probe.reason})\n`);
} else {
  const rounds = Number(process.argv[2] ?? 3);
  const topology = tenHosts();
  const ms = (from: number) => (performance.now() - from).toFixed(0);
  for (let round = 1; round <= rounds; round++) {
    const t0 = performance.now();
    const lab = (await netnsRuntime.up(topology)) as NetnsLab;
    const { networkMs, agentsMs } = lab.startTimings;
    const up = ms(t0);
    let first = '';
    try {
      const t1 = performance.now();
      const outcome = await lab.probe({
        from: 'ws1',
        user: 'alice',
        useSocksConf: true,
        protocol: 'socks4',
        command: 'connect',
        target: { host: 'srv1', port: 7 },
        send: 'ping',
      });
      first = `first probe ${ms(t1)} ms (reply ${outcome.reply})`;
    } finally {
      const t2 = performance.now();
      await lab.down();
      process.stdout.write(
        `netns-up round ${round}: ${topology.hosts.length} hosts, ${topology.networks.length} networks: up ${up} ms (network + carrier ${networkMs} ms, agents ready ${agentsMs} ms), ${first}, down ${ms(t2)} ms\n`,
      );
    }
  }
}
