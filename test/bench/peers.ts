/**
 * The servers compared by the benchmark, each started as real processes on 127.0.0.0/8:
 * rsockd (this project's built CLI), Dante (danted 1.4 from Debian) and microsocks — one hop or
 * a three-server cascade. Every peer is stopped by pid; nothing else is touched.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Peer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly proto: 'socks4' | 'socks5';
  /** Every process that belongs to the peer (for memory accounting). */
  pids(): number[];
  stop(): Promise<void>;
}

const root = path.resolve(import.meta.dirname, '../..');
const work = mkdtempSync(path.join(tmpdir(), 'sockslab-bench-'));
// Configs and the peers' logs (a hundred MiB or more after a full run) go when the run ends;
// BENCH_KEEP=1 keeps them for a look.
process.on('exit', () => {
  if (!process.env.BENCH_KEEP) rmSync(work, { recursive: true, force: true });
});

/**
 * A random first port for a run's peers (each takes base + a small offset). Below Linux's
 * ephemeral range (32768+): a listening port there can collide with a local port still in
 * TIME_WAIT from an earlier run's tens of thousands of connections.
 */
export function portBase(): number {
  return 21000 + Math.floor(Math.random() * 10000);
}

export function waitForPort(host: string, port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = net.connect({ host, port });
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > until) reject(new Error(`nothing listens on ${host}:${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** All descendants of a pid (Dante forks negotiate/request/io children). */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // the process ended while we looked
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    for (const [child, parent] of parents) if (parent === out[i]) out.push(child);
  }
  return out;
}

function stopAll(children: ChildProcess[]): Promise<void> {
  return Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 3000).unref();
        }),
    ),
  ).then(() => undefined);
}

function peer(
  name: string,
  host: string,
  port: number,
  proto: Peer['proto'],
  children: ChildProcess[],
): Peer {
  return {
    name,
    host,
    port,
    proto,
    pids: () => children.flatMap((c) => (c.pid ? descendants(c.pid) : [])),
    stop: () => stopAll(children),
  };
}

/** rsockd → rsockd → sockd on 127.0.1.{1,2,3}, all on one port (--upstream-port). */
export async function startRsockd(
  hops: 1 | 3,
  port: number,
  extra: readonly string[] = [],
  /** Another checkout's built rsockd, for A/B runs (focus.ts RSOCKD_B). */
  binRoot: string = root,
  // RSOCKD_NODE_ARGS: extra node flags for profiling (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`)
  nodeArgs: readonly string[] = (process.env.RSOCKD_NODE_ARGS ?? '').split(' ').filter(Boolean),
): Promise<Peer> {
  const dir = mkdtempSync(path.join(work, 'rsockd-'));
  const conf = path.join(dir, 'sockd.conf');
  writeFileSync(conf, 'permit 0.0.0.0 0.0.0.0\n');
  // Names come from this table, never from the system resolver: no DNS query leaves the machine
  // (the peers do no reverse lookups either).
  const hosts = path.join(dir, 'hosts');
  writeFileSync(
    hosts,
    '127.0.0.1 localhost\n127.0.0.9 bench-target\n127.0.1.1 hop1\n127.0.1.2 hop2\n127.0.1.3 hop3\n',
  );
  const children: ChildProcess[] = [];
  for (let i = 1; i <= hops; i++) {
    const last = i === hops;
    const clientConf = path.join(dir, `socks${i}.conf`);
    writeFileSync(clientConf, last ? 'direct ALL\n' : `sockd @=127.0.1.${i + 1} 0.0.0.0 0.0.0.0\n`);
    const bin = path.join(binRoot, 'dist/cli', last ? 'sockd.js' : 'rsockd.js');
    const args = [
      '--expose-gc',
      ...nodeArgs,
      bin,
      '--standalone',
      '--listen',
      `127.0.1.${i}`,
      '--port',
      String(port),
    ];
    args.push('--conf', conf, '--client-conf', clientConf, '--upstream-port', String(port), '--hosts', hosts);
    args.push('--log', path.join(dir, `hop${i}.log`), '--pidfile', path.join(dir, `hop${i}.pid`), ...extra);
    // RSOCKD_BENCH_USER=nobody: the hops drop to that user after binding (--user), as Dante's
    // peers do (user.unprivileged), to compare like with like and to show the drop costs nothing.
    if (process.env.RSOCKD_BENCH_USER) args.push('--user', process.env.RSOCKD_BENCH_USER);
    children.push(spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] }));
  }
  for (let i = 1; i <= hops; i++) await waitForPort(`127.0.1.${i}`, port);
  return peer(hops === 1 ? 'rsockd' : 'rsockd ×3', '127.0.1.1', port, 'socks4', children);
}

function danteConf(dir: string, port: number, next: number | null): string {
  const lines = [
    `logoutput: ${path.join(dir, `danted-${port}.log`)}`,
    `internal: 127.0.0.1 port = ${port}`,
    'external: 127.0.0.1',
    'route.maxfail: 0',
    'socksmethod: none',
    'clientmethod: none',
    'user.privileged: root',
    'user.unprivileged: nobody',
    'client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }',
    'socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }',
  ];
  if (next !== null) {
    lines.push(
      'route {',
      `  from: 0.0.0.0/0 to: 0.0.0.0/0 via: 127.0.0.1 port = ${next}`,
      '  proxyprotocol: socks_v4 socks_v5',
      '  command: connect',
      '  protocol: tcp',
      '}',
    );
  }
  const file = path.join(dir, `danted-${port}.conf`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** danted on 127.0.0.1 ports port, port+1, port+2 chained with `route { via }` (Dante cannot bind 127.0.1.x). */
export async function startDante(hops: 1 | 3, port: number): Promise<Peer> {
  const dir = mkdtempSync(path.join(work, 'dante-'));
  const children: ChildProcess[] = [];
  for (let i = 0; i < hops; i++) {
    const conf = danteConf(dir, port + i, i === hops - 1 ? null : port + i + 1);
    children.push(spawn('danted', ['-f', conf, '-p', path.join(dir, `d${i}.pid`)], { stdio: 'ignore' }));
  }
  for (let i = 0; i < hops; i++) await waitForPort('127.0.0.1', port + i);
  return peer(hops === 1 ? 'Dante' : 'Dante ×3', '127.0.0.1', port, 'socks4', children);
}

export async function startMicrosocks(port: number): Promise<Peer> {
  const child = spawn('microsocks', ['-i', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  await waitForPort('127.0.0.1', port);
  return peer('microsocks', '127.0.0.1', port, 'socks5', [child]);
}

/** A reference relay script (node, `script HOST PORT`, SOCKS 5): floor-relay.mjs by default. */
export async function startScript(script: string, port: number): Promise<Peer> {
  const child = spawn(process.execPath, ['--expose-gc', script, '127.0.0.1', String(port)], {
    stdio: 'ignore',
  });
  await waitForPort('127.0.0.1', port);
  return peer('floor', '127.0.0.1', port, 'socks5', [child]);
}

export function startEcho(port: number, mode: 'echo' | 'once' = 'echo'): Promise<{ stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['--import=tsx', path.join(import.meta.dirname, 'echo-server.ts'), String(port), '127.0.0.9', mode],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', () => resolve({ stop: () => stopAll([child]) }));
    child.once('exit', () => reject(new Error('echo server ended')));
  });
}

export { work as benchDir };
