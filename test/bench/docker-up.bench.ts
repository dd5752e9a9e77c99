/**
 * How long a 10-host topology takes to come up and go down on the Docker runtime (issue 18 goal: up
 * under 3 s, down under 1.5 s), and what one probe through a two-hop cascade costs. The image is
 * built (or found) first and not counted. Prints the figures; not a test.
 *
 *   npm run build && npx tsx test/bench/docker-up.bench.ts      (DOCKER_UP_ROUNDS=5)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dockerEngine, dockerRuntime, ensureImage, listRuns } from '../../src/runtime/docker/index.ts';
import { loadTopology } from '../../src/topology/load.ts';

const rounds = Number(process.env.DOCKER_UP_ROUNDS ?? 5);

/** 10 hosts on 3 networks: 5 clients, a department rsockd and a site sockd (both dual-homed), 3 echo hosts. */
export const tenHosts = `name: docker-bench-10
networks:
  lan: { subnet: 10.233.1.0/24 }
  dmz: { subnet: 10.233.2.0/24 }
  outside: { subnet: 10.233.3.0/24 }
hosts:
${[0, 1, 2, 3, 4]
  .map(
    (i) => `  c${i}:
    role: client
    addresses: { lan: 10.233.1.${10 + i} }
    users: { x: 1001 }
    identd: truthful
    socks.conf: |
      sockd @=10.233.1.2 0.0.0.0 0.0.0.0`,
  )
  .join('\n')}
  dept:
    role: rsockd
    addresses: { lan: 10.233.1.2, dmz: 10.233.2.2 }
    identd: truthful
    server:
      user: nobody
      sockd.conf: |
        permit ?=I *=x 10.233.1.0 255.255.255.0
        deny 0.0.0.0 0.0.0.0
      socks.conf: |
        sockd @=10.233.2.1 0.0.0.0 0.0.0.0
  site:
    role: sockd
    addresses: { dmz: 10.233.2.1, outside: 10.233.3.1 }
    server:
      user: root
      sockd.conf: |
        permit ?=n 10.233.2.2 255.255.255.255
        deny 0.0.0.0 0.0.0.0
${[0, 1, 2]
  .map(
    (i) => `  z${i}:
    role: echo
    addresses: { outside: 10.233.3.${10 + i} }
    echo: [7]`,
  )
  .join('\n')}
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? Number.NaN;

const dir = await mkdtemp(path.join(tmpdir(), 'sockslab-docker-bench-'));
try {
  const file = path.join(dir, 'ten.yaml');
  await writeFile(file, tenHosts);
  const topology = await loadTopology(file);
  const probe = await dockerRuntime.probe();
  if (!probe.ok) throw new Error(`docker runtime unavailable: ${probe.reason}`);
  const engine = await dockerEngine();
  let t = performance.now();
  const image = await ensureImage(engine);
  console.log(`image ${image} ready in ${Math.round(performance.now() - t)} ms (not counted)`);
  const up: number[] = [];
  const down: number[] = [];
  const probes: number[] = [];
  for (let r = 0; r < rounds; r++) {
    t = performance.now();
    const lab = await dockerRuntime.up(topology);
    up.push(performance.now() - t);
    try {
      t = performance.now();
      const o = await lab.probe({
        from: 'c0',
        user: 'x',
        protocol: 'socks4',
        command: 'connect',
        target: { host: 'z0', port: 7 },
        send: 'bench\n',
      });
      probes.push(performance.now() - t);
      if (o.reply !== 90) throw new Error(`probe through the cascade got ${JSON.stringify(o)}`);
    } finally {
      t = performance.now();
      await lab.down();
      down.push(performance.now() - t);
    }
    console.log(
      `round ${r + 1}: up ${Math.round(up[r] ?? 0)} ms, probe ${Math.round(probes[r] ?? 0)} ms, down ${Math.round(down[r] ?? 0)} ms`,
    );
  }
  const left = (await listRuns(engine)).filter((run) => run.topology === topology.name);
  console.log(
    `10 hosts, ${rounds} rounds: up median ${Math.round(median(up))} ms (max ${Math.round(Math.max(...up))}), ` +
      `down median ${Math.round(median(down))} ms (max ${Math.round(Math.max(...down))}), ` +
      `probe median ${Math.round(median(probes))} ms; leftovers: ${left.length}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
