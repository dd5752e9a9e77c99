/**
 * `npm run bench` — the server benchmark (issue 3): rsockd side by side with Dante, microsocks and
 * raw loopback, measured in the same run, rounds interleaved so machine noise hits every peer alike.
 * Prints a table of medians and ratios. Not a test: nothing here passes or fails.
 *
 *   BENCH_ROUNDS=3 BENCH_SECONDS=3 BENCH_IDLE=1000 BENCH_CASCADE_ROUNDS=7 npm run bench
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  cascadeThroughput,
  connectionRate,
  idleMemory,
  startIperfServer,
  throughput,
  WarmupSeconds,
} from './measure.ts';
import { type Peer, portBase, startDante, startEcho, startMicrosocks, startRsockd } from './peers.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const idle = Number(process.env.BENCH_IDLE ?? 1000);
// The 3-hop row puts three relays, iperf3's two ends and proxychains on two cores: which process
// the scheduler favours decides a round, so single rounds of it ranged 0.85–1.25× Dante. It gets
// its own, larger number of rounds (interleaved, in shuffled order each time) and a CPU-per-GB row
// that does not depend on that sharing.
const cascadeRounds = Number(process.env.BENCH_CASCADE_ROUNDS ?? 7);
const base = portBase();
const ECHO = base;
const IPERF = base + 1;
const ONCE = base + 2;

if (!existsSync(path.resolve(import.meta.dirname, '../../dist/cli/rsockd.js'))) {
  throw new Error('dist/ is missing: run `npm run build` first (npm run bench does)');
}

type Row = Map<string, number[]>;
const results = new Map<string, Row>();
function record(metric: string, peer: string, value: number) {
  const row = results.get(metric) ?? new Map<string, number[]>();
  results.set(metric, row);
  row.set(peer, [...(row.get(peer) ?? []), value]);
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length
    ? ((s[Math.floor((s.length - 1) / 2)] ?? 0) + (s[Math.ceil((s.length - 1) / 2)] ?? 0)) / 2
    : Number.NaN;
};

type Starter = () => Promise<Peer>;
const onePeer: Record<string, Starter> = {
  rsockd: () => startRsockd(1, base + 10, ['--socks5']),
  Dante: () => startDante(1, base + 20),
  microsocks: () => startMicrosocks(base + 30),
};
const cascades: Record<string, Starter> = {
  rsockd: () => startRsockd(3, base + 40),
  Dante: () => startDante(3, base + 50),
};

function shuffled<T>(xs: T[]): T[] {
  return xs
    .map((x) => [Math.random(), x] as const)
    .sort((a, b) => a[0] - b[0])
    .map(([, x]) => x);
}

async function withPeer(start: Starter, fn: (p: Peer) => Promise<void>) {
  const peer = await start();
  try {
    await fn(peer);
  } finally {
    await peer.stop();
  }
}

const echo = await startEcho(ECHO);
const echoOnce = await startEcho(ONCE, 'once');
const iperf = startIperfServer(IPERF);
await new Promise((r) => setTimeout(r, 300));
try {
  for (let round = 1; round <= rounds; round++) {
    process.stderr.write(`round ${round}/${rounds}\n`);
    record('1-hop throughput (Gbit/s)', 'raw loopback', await throughput(null, IPERF, seconds));
    for (const [name, start] of shuffled(Object.entries(onePeer))) {
      await withPeer(start, async (peer) => {
        // First, on the fresh process: the memory a server needs for idle connections. Measured
        // after the load tests instead, a garbage-collected server would put the connections
        // into heap pages that load left behind, and show several KiB per connection too few.
        record(
          `memory per idle relayed connection, fresh process (KiB, ${idle} conns)`,
          name,
          await idleMemory(peer, ECHO, idle),
        );
        record('1-hop throughput (Gbit/s)', name, await throughput(peer, IPERF, seconds));
        const socks5 = { ...peer, proto: 'socks5' as const };
        const c1 = await connectionRate(socks5, ONCE, 1, seconds);
        record('connections/s, concurrency 1 (SOCKS5)', name, c1.perSecond);
        record('connect latency p50 (ms, SOCKS5)', name, c1.p50);
        record('connect latency p99 (ms, SOCKS5)', name, c1.p99);
        record(
          'connections/s, concurrency 64 (SOCKS5)',
          name,
          (await connectionRate(socks5, ONCE, 64, seconds)).perSecond,
        );
        if (peer.proto === 'socks4') {
          record(
            'connections/s, concurrency 1 (SOCKS4)',
            name,
            (await connectionRate(peer, ONCE, 1, seconds)).perSecond,
          );
          record(
            'connections/s, concurrency 64 (SOCKS4)',
            name,
            (await connectionRate(peer, ONCE, 64, seconds)).perSecond,
          );
        }
      });
    }
    // --metrics costs what counting the event stream costs: the same connection load on rsockd with
    // it on and off, in shuffled order within the round.
    for (const [name, extraArgs] of shuffled([
      ['rsockd', []],
      ['rsockd --metrics', ['--metrics', `127.0.1.1:${base + 61}`]],
    ] as const)) {
      await withPeer(
        () => startRsockd(1, base + 60, extraArgs),
        async (peer) => {
          record(
            'connections/s, concurrency 64 (SOCKS4), rsockd with --metrics vs without',
            name === 'rsockd' ? 'rsockd' : 'rsockd --metrics',
            (await connectionRate(peer, ONCE, 64, seconds)).perSecond,
          );
        },
      );
    }
  }
  for (let round = 1; round <= cascadeRounds; round++) {
    process.stderr.write(`3-hop round ${round}/${cascadeRounds}\n`);
    for (const [name, start] of shuffled(Object.entries(cascades))) {
      await withPeer(start, async (peer) => {
        const r = await cascadeThroughput(peer, 3, IPERF, seconds);
        record('3-hop cascade throughput (Gbit/s)', name, r.gbits);
        record('3-hop cascade CPU per GB per hop (s)', name, r.cpuSecondsPerGBPerHop);
      });
    }
  }
} finally {
  iperf.stop();
  await echo.stop();
  await echoOnce.stop();
}

const lowerIsBetter = (metric: string) =>
  metric.includes('latency') || metric.includes('memory') || metric.includes('CPU per GB');
const fmt = (x: number) => (Number.isNaN(x) ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(2));
const peers = ['raw loopback', 'rsockd', 'Dante', 'microsocks'];
const metricsRow = 'connections/s, concurrency 64 (SOCKS4), rsockd with --metrics vs without';
// The --metrics row compares rsockd with itself: its own cells, after the table's other rows.
const metricsCells = results.get(metricsRow);
results.delete(metricsRow);
const lines = [
  `| metric (median of ${rounds}; 3-hop rows: ${cascadeRounds}) | ${peers.join(' | ')} | rsockd ÷ Dante | rsockd ÷ microsocks | rsockd ÷ raw |`,
  `|---|${peers.map(() => '---:').join('|')}|---:|---:|---:|`,
];
for (const [metric, row] of results) {
  const m = (p: string) => median(row.get(p) ?? []);
  const ratio = (p: string) => fmt(m('rsockd') / m(p));
  lines.push(
    `| ${metric}${lowerIsBetter(metric) ? ' ↓' : ''} | ${peers.map((p) => fmt(m(p))).join(' | ')} | ${ratio('Dante')} | ${ratio('microsocks')} | ${ratio('raw loopback')} |`,
  );
}
if (metricsCells) {
  const on = median(metricsCells.get('rsockd --metrics') ?? []);
  const off = median(metricsCells.get('rsockd') ?? []);
  lines.push(
    `| connections/s, concurrency 64 (SOCKS4), --metrics: with ${fmt(on)}, without ${fmt(off)} | — | ${fmt(on / off)} (with ÷ without) | — | — | — | — | — |`,
  );
}
process.stdout.write(
  `\n${lines.join('\n')}\n\n↓ = lower is better (a ratio below 1 means rsockd wins).\n` +
    'Process models, every row: rsockd one process (no --workers; the 3-hop cascade is three), ' +
    'Dante its default (forked negotiate/request/io processes), microsocks its default (a thread per client).\n' +
    `Connection rates and latencies: each measured after ${WarmupSeconds} s of the same load, not counted (BENCH_WARMUP).\n`,
);

// Every round's value under each median, and rsockd ÷ microsocks within each round: the spread
// shows how much of a small ratio is the machine (rounds run in the order recorded).
const spread = [
  `\nEvery round, in order (${rounds} rounds, 3-hop rows ${cascadeRounds}; the medians above come from these):`,
];
for (const [metric, row] of results) {
  const values = (p: string) => (row.get(p) ?? []).map(fmt).join(' ');
  const cells = peers.filter((p) => row.has(p)).map((p) => `${p} ${values(p)}`);
  const ours = row.get('rsockd') ?? [];
  const theirs = row.get('microsocks') ?? [];
  if (theirs.length > 0 && theirs.length === ours.length) {
    cells.push(`rsockd ÷ microsocks ${ours.map((x, i) => fmt(x / (theirs[i] as number))).join(' ')}`);
  }
  spread.push(`- ${metric}: ${cells.join('; ')}`);
}
process.stdout.write(`${spread.join('\n')}\n`);

// The lab's own benchmarks (topology up, diagram rendering, docker, cases per minute), when
// present; BENCH_LAB=0 leaves them out (the server table alone takes a few minutes, they many more).
for (const file of readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.bench.ts') && process.env.BENCH_LAB !== '0')
  .sort()) {
  process.stdout.write(`\n## ${file}\n`);
  const { execFileSync } = await import('node:child_process');
  try {
    process.stdout.write(
      execFileSync(process.execPath, ['--import=tsx', path.join(import.meta.dirname, file)], {
        encoding: 'utf8',
      }),
    );
  } catch (err) {
    process.stdout.write(`(failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)})\n`);
  }
}
