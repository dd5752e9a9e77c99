/**
 * A quicker, focused variant of run.ts for iterating on one metric:
 *   FOCUS=3hop|1hop|rate1|rate64|mem PEERS=rsockd,Dante,microsocks,floor ROUNDS=4 node --expose-gc --import=tsx test/bench/focus.ts
 * PEERS=rsockd,rsockdMetrics compares rsockd with and without `--metrics`.
 * Same peers, same loads and logging as run.ts; rounds interleaved in a shuffled order.
 */
import { cascadeThroughput, connectionRate, cpuTicks, idleMemory, startIperfServer } from './measure.ts';
import {
  type Peer,
  portBase,
  startDante,
  startEcho,
  startMicrosocks,
  startRsockd,
  startScript,
} from './peers.ts';

const focus = process.env.FOCUS ?? '3hop';
const rounds = Number(process.env.ROUNDS ?? 4);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const names = (process.env.PEERS ?? 'rsockd,Dante').split(',');
const extra = (process.env.RSOCKD_ARGS ?? '').split(' ').filter(Boolean);
const base = portBase();
const hops = focus === '3hop' ? 3 : 1;
const starters: Record<string, () => Promise<Peer>> = {
  rsockd: () => startRsockd(hops, base + 10, hops === 1 ? ['--socks5', ...extra] : extra),
  // the same rsockd with `--metrics` on (the cost of counting from the event stream)
  rsockdMetrics: () =>
    startRsockd(hops, base + 60, [
      ...(hops === 1 ? ['--socks5'] : []),
      ...extra,
      '--metrics',
      `127.0.1.1:${base + 61}`,
    ]),
  Dante: () => startDante(hops, base + 20),
  microsocks: () => startMicrosocks(base + 30),
  // RSOCKD_B=/path/to/other/checkout (built): the same rsockd peer from another tree, for A/B runs;
  // RSOCKD_B_NODE_ARGS: node flags for that peer only (A/B of a V8 setting on one tree)
  rsockdB: () =>
    startRsockd(
      hops,
      base + 50,
      hops === 1 ? ['--socks5', ...extra] : extra,
      process.env.RSOCKD_B ?? '.',
      // unset: startRsockd's own default (RSOCKD_NODE_ARGS)
      process.env.RSOCKD_B_NODE_ARGS?.split(' ').filter(Boolean),
    ),
  // the same handles with no features at all (floor-relay.mjs), or FLOOR=script for another reference
  floor: () =>
    startScript(process.env.FLOOR ?? new URL('./floor-relay.mjs', import.meta.url).pathname, base + 40),
};
const echo = await startEcho(base, 'echo');
const once = await startEcho(base + 2, 'once');
// iperf3 only where throughput is measured: the connection-rate and memory foci run without it.
const iperf = focus === '3hop' || focus === '1hop' ? startIperfServer(base + 1) : null;
await new Promise((r) => setTimeout(r, 300));
const out: Record<string, number[]> = {};
try {
  for (let r = 0; r < rounds; r++) {
    for (const name of [...names].sort(() => Math.random() - 0.5)) {
      const peer = await starters[name]!();
      try {
        let v: number;
        if (focus === '3hop' || focus === '1hop') {
          const r = await cascadeThroughput(peer, hops, base + 1, seconds);
          v = r.gbits;
          (out[`${name} cpu s/GB/hop`] ??= []).push(r.cpuSecondsPerGBPerHop);
        } else if (focus === 'mem') v = await idleMemory(peer, base, Number(process.env.BENCH_IDLE ?? 1000));
        else {
          const c = focus === 'rate64' ? 64 : 1;
          const proto = (process.env.PROTO ?? 'socks5') as 'socks4' | 'socks5';
          let cpu0 = 0;
          const res = await connectionRate({ ...peer, proto }, base + 2, c, seconds, () => {
            cpu0 = cpuTicks(peer.pids());
          });
          v = res.perSecond;
          // CPU the peer spent per connection (µs), from /proc ticks: shows cost apart from contention
          (out[`${name} cpu µs/conn`] ??= []).push(((cpuTicks(peer.pids()) - cpu0) * 1e4) / (v * seconds));
          if (c === 1) (out[`${name} p99`] ??= []).push(res.p99);
        }
        (out[name] ??= []).push(v);
      } finally {
        await peer.stop();
      }
    }
  }
} finally {
  iperf?.stop();
  await echo.stop();
  await once.stop();
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
for (const [k, xs] of Object.entries(out))
  process.stdout.write(
    `${focus} ${k}: median ${med(xs).toFixed(2)}  all ${xs.map((x) => x.toFixed(2)).join(' ')}\n`,
  );
