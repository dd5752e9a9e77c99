import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import {
  type DockerEngine,
  dockerEngine,
  engineAt,
  parseDockerHost,
} from '../../../src/runtime/docker/index.ts';

/**
 * A second Docker engine for one test file: its own dockerd (and the containerd it manages) with
 * its own data root, exec root, pid file and unix socket under a temp directory, started in a
 * network namespace of its own. There its bridges, routes and iptables rules live apart from the
 * machine's engine, so the two never rewrite each other's chains (a second dockerd in the root
 * namespace would flush the DOCKER chains every other lab depends on), and nothing it runs has a
 * route anywhere but its own bridges. `--bridge none`: no default bridge; labs make their own.
 */

export interface SecondEngine {
  readonly dir: string;
  readonly namespace: string;
  /** DOCKER_HOST for its unix socket. */
  readonly unixHost: string;
  /** DOCKER_HOST for a loopback TCP relay to the same socket (127.0.0.1 only). */
  readonly tcpHost: string;
  readonly engine: DockerEngine;
  stop(): Promise<void>;
}

/** Why a second engine cannot be started here, or null when it can. */
export function secondEngineUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'a second dockerd needs root';
  for (const bin of ['dockerd', 'containerd', 'ip', 'nsenter']) {
    const found = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin', '/usr/local/sbin'].some(
      (d) => {
        try {
          accessSync(join(d, bin), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      },
    );
    if (!found) return `${bin} is not installed`;
  }
  return null;
}

async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${what} within ${ms} ms`);
}

/** A 127.0.0.1 TCP listener that relays every connection to a unix socket. */
async function loopbackRelay(socketPath: string): Promise<Server> {
  const server = createServer((client) => {
    const upstream = createConnection(socketPath);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  return server;
}

function log(dir: string): string {
  try {
    return readFileSync(join(dir, 'dockerd.log'), 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}

export async function startSecondEngine(): Promise<SecondEngine> {
  // Short: a unix socket path is at most 107 bytes.
  const dir = mkdtempSync('/tmp/sl-dk2-');
  const namespace = `sl-dk2-${process.pid}`;
  const socket = join(dir, 'docker.sock');
  const pidfile = join(dir, 'docker.pid');
  execFileSync('ip', ['netns', 'add', namespace]);
  let daemon: ChildProcess | undefined;
  let relay: Server | undefined;
  const cleanup = async () => {
    relay?.close();
    // By the pid this test started (its pid file says the same), never by name.
    const pid = daemon?.pid;
    if (pid !== undefined && daemon?.exitCode === null) {
      const exited = new Promise((r) => daemon?.once('exit', r));
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (daemon?.exitCode === null) process.kill(pid, 'SIGKILL');
      }, 20_000);
      await exited;
      clearTimeout(timer);
    }
    // A daemon that died hard leaves its overlay and netns mounts under the temp directory.
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) {
      try {
        execFileSync('umount', ['-l', m]);
      } catch {
        // already gone
      }
    }
    try {
      execFileSync('ip', ['netns', 'del', namespace]);
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    execFileSync('ip', ['-n', namespace, 'link', 'set', 'lo', 'up']);
    const logFd = openSync(join(dir, 'dockerd.log'), 'w');
    // nsenter --net only: `ip netns exec` would also remount /sys, hiding the cgroup mounts dockerd needs.
    daemon = spawn(
      'nsenter',
      [
        `--net=/run/netns/${namespace}`,
        'dockerd',
        '--host',
        `unix://${socket}`,
        '--data-root',
        join(dir, 'data'),
        '--exec-root',
        join(dir, 'exec'),
        '--pidfile',
        pidfile,
        '--bridge',
        'none',
        '--userland-proxy=false',
      ],
      // Its output goes to a file, read back when it does not come up.
      { stdio: ['ignore', logFd, logFd] },
    );
    closeSync(logFd);
    const unixHost = `unix://${socket}`;
    const connector = engineAt(parseDockerHost(unixHost));
    await until(`the second dockerd did not answer on ${socket}${log(dir)}`, 30_000, async () => {
      if (daemon?.exitCode !== null) throw new Error(`the second dockerd exited ${daemon?.exitCode}`);
      try {
        await connector();
        return true;
      } catch {
        return false;
      }
    });
    relay = await loopbackRelay(socket);
    const address = relay.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    return {
      dir,
      namespace,
      unixHost,
      tcpHost: `tcp://127.0.0.1:${port}`,
      engine: await dockerEngine(connector),
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
