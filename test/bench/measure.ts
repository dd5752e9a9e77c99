/** The four measurements of the server benchmark, each against one started Peer. */
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { handshake } from './handshake.ts';
import { benchDir, type Peer } from './peers.ts';

const run = promisify(execFile);
export const TARGET_HOST = '127.0.0.9'; // not 127.0.0.1: rsockd's loopback shortcut would skip the cascade

/** utime + stime of the processes, in clock ticks (1/100 s); a process that ended counts nothing. */
export function cpuTicks(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // ended
    }
  }
  return ticks;
}

/**
 * Throughput through a cascade and the CPU its processes spent per GB relayed, divided by the
 * hops: the cost of one relay, apart from how the two cores were shared in that round.
 */
export async function cascadeThroughput(
  peer: Peer,
  hops: number,
  iperfPort: number,
  seconds: number,
): Promise<{ gbits: number; cpuSecondsPerGBPerHop: number }> {
  const cpu0 = cpuTicks(peer.pids());
  const gbits = await throughput(peer, iperfPort, seconds);
  const gigabytes = (gbits * seconds) / 8;
  return { gbits, cpuSecondsPerGBPerHop: (cpuTicks(peer.pids()) - cpu0) / 100 / gigabytes / hops };
}

/** iperf3 through proxychains4 (a Node client cannot saturate loopback). Gbit/s. */
export async function throughput(peer: Peer | null, iperfPort: number, seconds: number): Promise<number> {
  const args = ['-c', TARGET_HOST, '-p', String(iperfPort), '-t', String(seconds), '-J'];
  let stdout: string;
  if (peer === null) {
    ({ stdout } = await run('iperf3', args, { maxBuffer: 1 << 24 }));
  } else {
    const conf = path.join(benchDir, `proxychains-${peer.port}.conf`);
    writeFileSync(
      conf,
      [
        'strict_chain',
        'quiet_mode',
        'tcp_read_time_out 15000',
        'tcp_connect_time_out 8000',
        '[ProxyList]',
        `${peer.proto} ${peer.host} ${peer.port}`,
        '',
      ].join('\n'),
    );
    ({ stdout } = await run('proxychains4', ['-q', '-f', conf, 'iperf3', ...args], { maxBuffer: 1 << 24 }));
  }
  const report = JSON.parse(stdout) as { end: { sum_received: { bits_per_second: number } } };
  return report.end.sum_received.bits_per_second / 1e9;
}

export interface RateResult {
  perSecond: number;
  p50: number;
  p99: number;
  failed: number;
}

/**
 * Seconds of the same load run before each connection-rate measurement and not counted. Four,
 * because a JIT-compiled server is still compiling its per-connection code after one: at
 * concurrency 1 (about 2 500 connections a second here) rsockd's `--trace-opt` shows functions of
 * the CONNECT path optimised until 3 to 4 s in, each on a compiler thread that takes a core from
 * the client and the echo server. A time, not a count, so concurrency 64 warms up no less.
 */
export const WarmupSeconds = Number(process.env.BENCH_WARMUP ?? 4);

/**
 * Netfilter's connection table, when the kernel keeps one (Docker loads it): every loopback
 * connection of a load run takes an entry that outlives the connection by two minutes, and a full
 * table drops new SYNs, which the client retries after a second. Such a stall would show up as a
 * latency of 1000 ms and a rate collapse for whichever peer was measured, so say so before it happens.
 */
function warnIfConntrackFilling(): void {
  let count: number;
  let max: number;
  try {
    count = Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_count', 'utf8'));
    max = Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8'));
  } catch {
    return; // no connection tracking: nothing to fill
  }
  if (max > 0 && count > max / 2) {
    process.stderr.write(
      `warning: netfilter's connection table holds ${count} of ${max} entries; when it is full, new loopback ` +
        'connections are dropped and retried a second later. Raise net.netfilter.nf_conntrack_max or wait ' +
        'two minutes between runs.\n',
    );
  }
}

/**
 * Connections per second at a concurrency, with connect→reply latency percentiles, after a
 * warm-up of WarmupSeconds (see loadgen.ts). `onWarm` runs when the warm-up ends and the counted
 * load begins (focus.ts samples the peer's CPU time there).
 */
export async function connectionRate(
  peer: Peer,
  echoPort: number,
  concurrency: number,
  seconds: number,
  onWarm: () => void = () => {},
): Promise<RateResult> {
  warnIfConntrackFilling();
  const args = ['--import=tsx', path.join(import.meta.dirname, 'loadgen.ts')];
  args.push(
    '--proxy',
    `${peer.host}:${peer.port}`,
    '--proto',
    peer.proto,
    '--target',
    `${TARGET_HOST}:${echoPort}`,
  );
  args.push('--concurrency', String(concurrency), '--seconds', String(seconds));
  args.push('--warmup', String(WarmupSeconds));
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    let warm = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      text += chunk;
      // The first line marks the end of the warm-up; the result is the line after it.
      if (!warm && text.startsWith('warm\n')) {
        warm = true;
        text = text.slice('warm\n'.length);
        onWarm();
      }
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`loadgen exited with ${code}`)),
    );
  });
  const r = JSON.parse(stdout) as {
    done: number;
    failed: number;
    seconds: number;
    latencies: { p50: number; p99: number };
  };
  if (r.failed > 0) {
    process.stderr.write(
      `${peer.name} (${peer.proto}, concurrency ${concurrency}): ${r.failed} connections failed while counted\n`,
    );
  }
  return { perSecond: r.done / r.seconds, p50: r.latencies.p50, p99: r.latencies.p99, failed: r.failed };
}

function pss(pids: number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      kib += Number(m?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kib;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Ask every Node process of the peer to collect garbage (rsockd runs with --expose-gc and gc()s on SIGUSR2). */
async function collect(peer: Peer): Promise<void> {
  if (!peer.name.startsWith('rsockd')) return;
  for (const pid of peer.pids()) process.kill(pid, 'SIGUSR2');
  await sleep(300);
}

/** PSS growth per idle relayed connection (KiB), with `count` connections held open through the peer. */
export async function idleMemory(peer: Peer, echoPort: number, count: number): Promise<number> {
  await collect(peer);
  const before = pss(peer.pids());
  const sockets: net.Socket[] = [];
  const open = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.connect({ host: peer.host, port: peer.port });
      sockets.push(s);
      s.on('error', reject);
      s.once('connect', () => {
        handshake(s, peer.proto, TARGET_HOST, echoPort).then(() => {
          // one round trip proves the relay is up, then the connection idles
          s.once('data', () => resolve());
          s.write('x');
        }, reject);
      });
    });
  for (let i = 0; i < count; i += 50)
    await Promise.all(Array.from({ length: Math.min(50, count - i) }, open));
  await sleep(500);
  await collect(peer);
  const after = pss(peer.pids());
  for (const s of sockets) s.destroy();
  await sleep(500);
  return (after - before) / count;
}

export function startIperfServer(port: number) {
  const child = spawn('iperf3', ['-s', '-B', TARGET_HOST, '-p', String(port)], { stdio: 'ignore' });
  return { stop: () => child.kill('SIGTERM') };
}
