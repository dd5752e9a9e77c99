/**
 * Connection-rate load generator (a child process, so it does not share a core's event loop with
 * the proxy under test): each request is TCP connect → SOCKS CONNECT → 64-byte echo → close.
 * With `--warmup S` the same load runs S seconds first and is not counted: a benchmark compares
 * servers in their steady state, after a JIT-compiled server has compiled its hot paths (and this
 * load generator its own), as a server in service for more than a few seconds is.
 * Prints `warm` when the counted load begins, then one JSON line:
 * { done, failed, seconds, latencies: { p50, p99 } } (ms, connect→reply).
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { handshake } from './handshake.ts';

const { values } = parseArgs({
  options: {
    proxy: { type: 'string' },
    proto: { type: 'string', default: 'socks4' },
    target: { type: 'string' },
    concurrency: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '0' },
  },
});
const [proxyHost, proxyPort] = (values.proxy ?? '').split(':');
const [targetHost, targetPort] = (values.target ?? '').split(':');
const concurrency = Number(values.concurrency);
const payload = Buffer.alloc(64, 0x61);

function once(): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const sock = net.connect({ host: proxyHost, port: Number(proxyPort), noDelay: true });
    sock.setTimeout(5000, () => sock.destroy(new Error('timeout')));
    sock.on('error', reject);
    sock.on('close', () => reject(new Error('closed early')));
    sock.once('connect', async () => {
      try {
        await handshake(
          sock,
          values.proto === 'socks5' ? 'socks5' : 'socks4',
          targetHost ?? '',
          Number(targetPort),
        );
      } catch (err) {
        sock.destroy();
        return reject(err);
      }
      const latency = performance.now() - started;
      let got = 0;
      sock.on('data', (chunk) => {
        got += chunk.length;
      });
      // the echo server closes first (see echo-server.ts `once`); we only finish our side
      sock.on('end', () => {
        sock.end();
        if (got >= payload.length) resolve(latency);
        else reject(new Error(`short echo: ${got} bytes`));
      });
      sock.write(payload);
    });
  });
}

const latencies: number[] = [];
let failed = 0;
async function worker(deadline: number, record: boolean): Promise<void> {
  while (performance.now() < deadline) {
    try {
      const latency = await once();
      if (record) latencies.push(latency);
    } catch {
      if (record) failed++;
    }
  }
}
function load(seconds: number, record: boolean): Promise<unknown> {
  const deadline = performance.now() + seconds * 1000;
  return Promise.all(Array.from({ length: concurrency }, () => worker(deadline, record)));
}
const warmup = Number(values.warmup);
if (warmup > 0) await load(warmup, false);
process.stdout.write('warm\n');
const t0 = performance.now();
await load(Number(values.seconds), true);
const seconds = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0;
process.stdout.write(
  `${JSON.stringify({ done: latencies.length, failed, seconds, latencies: { p50: pct(50), p99: pct(99) } })}\n`,
);
