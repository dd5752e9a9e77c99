import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import type { ResolvedTopology } from '../../topology/model.ts';
import { agentLabBasics } from '../agent-lab.ts';
import { ImagePaths } from '../host-spec.ts';
import type { Lab, ProbeResult, Runtime, UpOptions } from '../runtime.ts';
import { ipBatch, ipVersion } from './ip.ts';
import { runPrefix } from './names.ts';
import { NetnsLab } from './netns-lab.ts';

/**
 * The netns runtime: each host a Linux network namespace wired to per-network bridges, running the
 * real CLI binaries as processes under the topology's uids. Needs root, iproute2, util-linux
 * (unshare, nsenter) and a built dist/. Register as `netns`.
 */

export interface NetnsRuntimeOptions {
  /** Project root holding dist/ (bound read-only on /app inside every host). */
  readonly appRoot?: string;
  readonly readyTimeoutMs?: number;
  readonly carrierTimeoutMs?: number;
}

/** src/runtime/netns and dist/runtime/netns sit at the same depth below the project root. */
export function projectRoot(): string {
  return resolve(import.meta.dirname, '../../..');
}

async function tool(file: string, args: readonly string[]): Promise<string | null> {
  const r = await execa(file, [...args], { reject: false, stdin: 'ignore' });
  return r.exitCode === 0
    ? null
    : (String(r.stderr || r.message || `exit ${r.exitCode}`).split('\n')[0] ?? '');
}

/** Whether this machine can run netns labs; the reason when not. Never throws. */
export async function probeNetns(appRoot = projectRoot()): Promise<ProbeResult> {
  try {
    if (process.platform !== 'linux')
      return { ok: false, reason: `needs Linux (this is ${process.platform})` };
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      return { ok: false, reason: `needs root (running as uid ${process.getuid()})` };
    }
    try {
      await ipVersion();
    } catch (err) {
      return { ok: false, reason: `needs iproute2's ip: ${(err as Error).message.split('\n')[0]}` };
    }
    for (const [file, args] of [
      ['unshare', ['--version']],
      ['nsenter', ['--version']],
    ] as const) {
      const problem = await tool(file, args);
      if (problem !== null) return { ok: false, reason: `needs util-linux ${file}: ${problem}` };
    }
    if (!existsSync(join(appRoot, 'dist', 'cli', 'host-agent.js'))) {
      return { ok: false, reason: `${join(appRoot, 'dist')} has no cli/host-agent.js: run npm run build` };
    }
    // A throwaway namespace named like a run, so a crash here leaves something `reap` removes.
    const name = `${runPrefix(`probe${randomBytes(3).toString('hex')}`, process.pid)}x`;
    try {
      await ipBatch([`netns add ${name}`]);
    } catch (err) {
      return { ok: false, reason: `ip netns add failed: ${(err as Error).message}` };
    }
    await ipBatch([`netns del ${name}`], { force: true }).catch(() => {});
    ensureMountpoint();
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

/** The agent's code lives at /app inside each host: the directory must exist as a mount point. */
function ensureMountpoint(): void {
  if (!existsSync(ImagePaths.app)) mkdirSync(ImagePaths.app, { mode: 0o755 });
}

export function createNetnsRuntime(options: NetnsRuntimeOptions = {}): Runtime {
  const appRoot = options.appRoot ?? projectRoot();
  return {
    name: 'netns',
    probe(): Promise<ProbeResult> {
      return probeNetns(appRoot);
    },
    async up(topology: ResolvedTopology, upOptions: UpOptions = {}): Promise<Lab> {
      ensureMountpoint();
      const lab = new NetnsLab({
        topology,
        ...agentLabBasics(upOptions),
        appRoot,
        node: realpathSync(process.execPath),
        readyTimeoutMs: options.readyTimeoutMs ?? 20_000,
        carrierTimeoutMs: options.carrierTimeoutMs ?? 10_000,
      });
      await lab.start();
      return lab;
    },
  };
}

export const netnsRuntime: Runtime = createNetnsRuntime();

export type { DialOutcome, DialRequest } from '../agent-protocol.ts';
export { NetnsLab } from './netns-lab.ts';
export { listNetnsRuns, type NetnsRunSummary, reapNetnsRuns, removeNamespaces } from './reap.ts';
