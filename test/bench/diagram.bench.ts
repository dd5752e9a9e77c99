/**
 * How long a 50-host topology takes to draw: DOT generation, and DOT → SVG through the
 * in-process Graphviz (loaded once beforehand, its load time printed separately). Prints the
 * figures; the goal is well under a second per SVG.
 *
 *   node --import=tsx test/bench/diagram.bench.ts [rounds]
 */
import { performance } from 'node:perf_hooks';
import { renderSvg } from '../../src/diagram/render-svg.ts';
import { topologyDot } from '../../src/diagram/topology-dot.ts';
import type { ConfigName } from '../../src/topology/config-parsers.ts';
import type { HostModel, ResolvedTopology, ServerModel } from '../../src/topology/model.ts';
import { configText } from '../helpers/config-text.ts';

const conf = <K extends ConfigName>(name: K, text: string) =>
  configText(name, text, { file: `/bench/${name}`, line: 1, column: 1, inline: true });

const server = (kind: 'rsockd' | 'sockd', socksConf?: string): ServerModel => ({
  kind,
  owner: 'nobody',
  port: 1080,
  identdDefault: kind === 'rsockd' ? 'strict' : 'off',
  socks5: false,
  sockdConf: conf('sockd.conf', 'permit ALL\n'),
  ...(socksConf === undefined ? {} : { socksConf: conf('socks.conf', socksConf) }),
  userFiles: [],
  upstreamPort: 1080,
  identdPort: 113,
});

/** 4 LANs of 10 clients, an rsockd per LAN into the dmz, 2 fail-over sockd firewalls, 4 echo hosts. */
export function fiftyHosts(): ResolvedTopology {
  const hosts: HostModel[] = [];
  const lans = [1, 2, 3, 4];
  for (const lan of lans) {
    for (let i = 1; i <= 10; i++) {
      hosts.push({
        name: `ws${lan}-${i}`,
        role: 'client',
        interfaces: [{ network: `lan${lan}`, address: `10.${lan}.0.${10 + i}` }],
        users: [{ name: `u${i}`, uid: 1000 + i }],
        identd: { behaviour: { kind: 'truthful' }, port: 113 },
        clientSocksConf: conf('socks.conf', `sockd @=10.${lan}.0.1 ALL\n`),
      });
    }
    hosts.push({
      name: `gw${lan}`,
      role: 'rsockd',
      interfaces: [
        { network: `lan${lan}`, address: `10.${lan}.0.1` },
        { network: 'dmz', address: `10.100.0.${lan}` },
      ],
      users: [{ name: 'nobody', uid: 65534 }],
      identd: { behaviour: { kind: 'truthful' }, port: 113 },
      server: server('rsockd', `direct 10.${lan}.0.0 255.255.255.0\nsockd @=fw1,fw2 ALL\n`),
    });
  }
  for (const fw of [1, 2]) {
    hosts.push({
      name: `fw${fw}`,
      role: 'sockd',
      interfaces: [
        { network: 'dmz', address: `10.100.0.${100 + fw}` },
        { network: 'internet', address: `198.51.100.${fw}` },
      ],
      users: [],
      server: server('sockd'),
    });
  }
  for (let i = 1; i <= 4; i++) {
    hosts.push({
      name: `site${i}`,
      role: 'echo',
      interfaces: [{ network: 'internet', address: `198.51.100.${10 + i}` }],
      users: [],
      echo: [
        { port: 7, kind: 'echo' },
        { port: 80, kind: 'http-ok' },
      ],
    });
  }
  return {
    name: 'fifty-hosts',
    file: '/bench/fifty-hosts.yaml',
    networks: [
      ...lans.map((lan) => ({ name: `lan${lan}`, subnet: `10.${lan}.0.0/24` })),
      { name: 'dmz', subnet: '10.100.0.0/24' },
      { name: 'internet', subnet: '198.51.100.0/24' },
    ],
    hosts,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function main(rounds: number): Promise<void> {
  const topology = fiftyHosts();
  let t = performance.now();
  await renderSvg('digraph { a }');
  const loadMs = performance.now() - t;

  const dotMs: number[] = [];
  const svgMs: number[] = [];
  let bytes = 0;
  for (let i = 0; i < rounds; i++) {
    t = performance.now();
    const dot = topologyDot(topology);
    dotMs.push(performance.now() - t);
    t = performance.now();
    bytes = (await renderSvg(dot)).length;
    svgMs.push(performance.now() - t);
  }
  const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
  process.stdout.write(
    [
      `diagram bench: ${topology.hosts.length} hosts, ${topology.networks.length} networks, ${rounds} rounds`,
      `  Graphviz load (once per process): ${fmt(loadMs)}`,
      `  topologyDot: median ${fmt(median(dotMs))}, max ${fmt(Math.max(...dotMs))}`,
      `  DOT -> SVG:  median ${fmt(median(svgMs))}, max ${fmt(Math.max(...svgMs))} (${bytes} bytes of SVG)`,
      `  first full render incl. load: ${fmt(loadMs + (dotMs[0] ?? 0) + (svgMs[0] ?? 0))}`,
      '',
    ].join('\n'),
  );
}

// Run only when executed, not when imported (the tests and tools reuse fiftyHosts()).
if (process.argv[1]?.endsWith('diagram.bench.ts')) await main(Number(process.argv[2] ?? 10));
