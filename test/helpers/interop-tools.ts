import { accessSync, constants, readFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { delimiter, join } from 'node:path';
import test, { type TestFn } from 'ava';

/**
 * Which external programs the interop tests can use. A missing program turns a test file's tests
 * into skips that print the reason; with SOCKSLAB_REQUIRE_ALL=1 (CI) it is a failing test instead,
 * because CI installs every one of them (.ci/run). The same `testWhen` guards every other test that
 * needs something of the host (IPv6 loopback, /bin/sh, root, /proc): a skip that says why, never a
 * `t.pass()`.
 */

export const requireAll = process.env.SOCKSLAB_REQUIRE_ALL === '1';

/** Debian package that ships each program (for the skip message). */
const packageOf: Readonly<Record<string, string>> = {
  curl: 'curl',
  danted: 'dante-server',
  socksify: 'dante-client',
  oidentd: 'oidentd',
  proxychains4: 'proxychains4',
  perl: 'perl-base',
  ss: 'iproute2',
};

// Daemons live in sbin, which a non-login PATH may lack.
const extraDirs = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Absolute path of an executable program on PATH (plus the sbin directories), or null. */
export function which(program: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extraDirs];
  for (const dir of dirs) {
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** The reason a capability is absent, or null when present. */
export type Probe = () => string | null;

/** A probe that every program in `programs` is installed. */
export function programsInstalled(...programs: string[]): Probe {
  return () => {
    const missing = programs.filter((p) => which(p) === null);
    if (missing.length === 0) return null;
    const pkgs = missing.map((p) => packageOf[p] ?? p);
    return `not installed: ${missing.join(', ')} (Debian: apt-get install ${[...new Set(pkgs)].join(' ')})`;
  };
}

export const isRoot = process.getuid?.() === 0;

/** A probe that a process of ours may bind `port` (root, or the kernel lets anyone bind it). */
export function mayBindPort(port: number, what: string): Probe {
  return () => {
    if (isRoot) return null;
    let start = 1024;
    try {
      start = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
    } catch {
      // older kernels: the classic 1024
    }
    return port >= start
      ? null
      : `${what} must listen on port ${port}, which needs root here (uid ${process.getuid?.()}, ip_unprivileged_port_start ${start})`;
  };
}

/**
 * `test` when every probe passes; otherwise `test.skip` after printing why, or, under
 * SOCKSLAB_REQUIRE_ALL=1, a failing test that names the reason.
 */
export function testWhen(label: string, ...probes: Probe[]): TestFn {
  const reasons = probes.map((p) => p()).filter((r): r is string => r !== null);
  if (reasons.length === 0) return test;
  const reason = reasons.join('; ');
  if (requireAll) {
    test(`${label}: the required tools are usable (SOCKSLAB_REQUIRE_ALL=1)`, (t) => {
      t.fail(reason);
    });
  } else {
    console.log(`skipping ${label}: ${reason}`);
  }
  return test.skip as unknown as TestFn;
}

/** Why ::1 (and, separately, a dual-stack `::` listener taking IPv4) cannot be used here, or null. */
export async function probeIpv6(): Promise<{ loopback: string | null; dualStack: string | null }> {
  const server = createServer((s) => s.destroy());
  const listening = await new Promise<string | null>((resolve) => {
    server.once('error', (err) => resolve(`cannot listen on [::] (${err.message})`));
    server.listen(0, '::', () => resolve(null));
  });
  if (listening !== null) return { loopback: listening, dualStack: listening };
  const { port } = server.address() as { port: number };
  const reach = (host: string) =>
    new Promise<string | null>((resolve) => {
      const s = tcpConnect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        resolve(`connect to ${host} timed out`);
      }, 5000); // generous: a loaded CI host must not turn into a false skip
      s.once('connect', () => {
        clearTimeout(timer);
        s.destroy();
        resolve(null);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        resolve(`connect to ${host} failed (${err.message})`);
      });
    });
  const loopback = await reach('::1');
  const v4 = await reach('127.0.0.1');
  await new Promise<void>((r) => server.close(() => r()));
  return {
    loopback: loopback && `IPv6 loopback ::1 is not usable: ${loopback}`,
    dualStack: v4 && `a [::] listener does not take IPv4 connections: ${v4}`,
  };
}

let services: Map<number, string> | null = null;

/**
 * The /etc/services name of a TCP port, or the number: what the classic log prints as DSTSERV.
 * Read here independently of the server's own services parser.
 */
export function serviceName(port: number): string {
  if (!services) {
    services = new Map();
    let text = '';
    try {
      text = readFileSync('/etc/services', 'utf8');
    } catch {
      // no services file: every port prints as its number
    }
    for (const raw of text.split('\n')) {
      const m = /^([^\s#]+)\s+(\d+)\/tcp\b/.exec(raw);
      if (m && !services.has(Number(m[2]))) services.set(Number(m[2]), m[1]!);
    }
  }
  return services.get(port) ?? String(port);
}
