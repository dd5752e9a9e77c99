/**
 * How long a 50-host topology takes to load and come up on the local runtime, and to serve a
 * probe through it. Prints the figures; not a test (the target is "under a second").
 *
 *   npx tsx test/bench/local-up.bench.ts            (LOCAL_UP_HOSTS=50 LOCAL_UP_ROUNDS=5)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { localRuntime } from '../../src/runtime/local/local-runtime.ts';
import { loadTopology } from '../../src/topology/load.ts';

const hosts = Number(process.env.LOCAL_UP_HOSTS ?? 50);
const rounds = Number(process.env.LOCAL_UP_ROUNDS ?? 5);

/** A department per 10 hosts: clients, an rsockd per department, one site sockd, echo hosts outside. */
export function generatedTopology(count: number): string {
  const lines = [
    '# yaml-language-server: $schema=topology.schema.json',
    `name: generated-${count}`,
    'networks:',
    '  lan: { subnet: 10.0.0.0/16 }',
    '  outside: { subnet: 198.18.0.0/16 }',
    'defaults:',
    '  roles:',
    '    client: { identd: truthful, users: { x: 1001 }, addresses: [lan], socks.conf: "sockd @=fw 0.0.0.0 0.0.0.0" }',
    '    echo: { addresses: [outside], echo: [7, { port: 80, kind: http-ok }] }',
    'hosts:',
    '  fw:',
    '    role: sockd',
    '    addresses: [lan, outside]',
    '    server:',
    '      flags: [-i]',
    '      sockd.conf: |',
    '        permit *=x 10.0.0.0 255.255.0.0',
    '        deny 0.0.0.0 0.0.0.0',
  ];
  const rest = count - 1;
  const clients = Math.ceil(rest * 0.6);
  for (let i = 0; i < clients; i++) lines.push(`  c${i}: { role: client }`);
  for (let i = 0; i < rest - clients; i++) lines.push(`  z${i}: { role: echo }`);
  return `${lines.join('\n')}\n`;
}

const dir = await mkdtemp(path.join(tmpdir(), 'local-up-bench-'));
try {
  const file = path.join(dir, 'generated.yaml');
  await writeFile(file, generatedTopology(hosts));
  const figures: { load: number; up: number; probe: number; down: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const topology = await loadTopology(file);
    const t1 = performance.now();
    const lab = await localRuntime.up(topology);
    const t2 = performance.now();
    const outcome = await lab.probe({
      from: 'c0',
      user: 'x',
      protocol: 'socks4',
      command: 'connect',
      target: { host: 'z0', port: 7 },
      send: 'bench',
    });
    const t3 = performance.now();
    if (outcome.received !== 'bench') throw new Error(`probe failed: ${JSON.stringify(outcome)}`);
    await lab.down();
    const t4 = performance.now();
    figures.push({ load: t1 - t0, up: t2 - t1, probe: t3 - t2, down: t4 - t3 });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const m = (k: keyof (typeof figures)[number]) => median(figures.map((f) => f[k])).toFixed(1);
  process.stdout.write(
    `local runtime, ${hosts} hosts, median of ${rounds}: load ${m('load')} ms, up ${m('up')} ms, ` +
      `load+up ${median(figures.map((f) => f.load + f.up)).toFixed(1)} ms, first probe ${m('probe')} ms, down ${m('down')} ms\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
