import { rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { processAlive } from '../common/process-alive.ts';
import type { LabControlState } from '../runtime/lab-control.ts';

/**
 * Where `sockslab up` leaves word of a running lab for `sockslab probe`/`down`: a small JSON file
 * per topology name (mode 0600: it holds the control token) in --state-dir, else
 * $XDG_RUNTIME_DIR/sockslab, else reports/.labs under the working directory.
 */
export function stateDir(explicit: string | undefined): string {
  if (explicit) return path.resolve(explicit);
  const xdg = process.env.XDG_RUNTIME_DIR;
  return xdg ? path.join(xdg, 'sockslab') : path.resolve('reports/.labs');
}

export function stateFile(dir: string, name: string): string {
  return path.join(dir, `${name}.json`);
}

/** The state of a running lab, or null (no file, or its process is gone: the file is removed). */
export async function readLabState(file: string): Promise<LabControlState | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  const state = JSON.parse(text) as LabControlState;
  if (!processAlive(state.pid)) {
    await rm(file, { force: true });
    return null;
  }
  return state;
}

export async function writeLabState(file: string, state: LabControlState): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

export async function removeLabState(file: string): Promise<void> {
  await rm(file, { force: true });
}

/**
 * The state file goes with the process however it ends (an orderly `down`, process.exit, an
 * uncaught exception): a file naming a dead pid would make the next `up` or `probe` guess.
 */
export function removeLabStateOnExit(file: string): void {
  process.once('exit', () => rmSync(file, { force: true }));
}

/**
 * Every state file in `dir` as written, its process alive or not (a lab killed with SIGKILL
 * leaves its file): what `sockslab reap` reads to find the engines labs were brought up on.
 */
export async function recordedLabStates(dir: string): Promise<{ file: string; state: LabControlState }[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const out: { file: string; state: LabControlState }[] = [];
  for (const name of names.sort()) {
    const file = path.join(dir, name);
    try {
      out.push({ file, state: JSON.parse(await readFile(file, 'utf8')) as LabControlState });
    } catch {
      // Not a state file of ours (or half written): nothing to learn from it.
    }
  }
  return out;
}
