import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The systemd unit files of contrib/systemd, read as the tests need them: one directive's values
 * and the ExecStart command with the installed rsockd path replaced by this tree's build.
 */

export const unitDir = (root: string) => join(root, 'contrib/systemd');

/** Every value of `key=` in the unit text (comments and section headers skipped). */
export function directive(text: string, key: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || line.startsWith(';') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    if (eq > 0 && line.slice(0, eq).trim() === key) out.push(line.slice(eq + 1).trim());
  }
  return out;
}

export function readUnit(root: string, name: string): string {
  return readFileSync(join(unitDir(root), name), 'utf8');
}

/** Where the units expect `npm install -g` (default prefix /usr/local) to have put rsockd. */
export const installedRsockd = '/usr/local/bin/rsockd';

/**
 * The unit's ExecStart as argv, its rsockd replaced by `node <root>/dist/cli/rsockd.js` (the same
 * program the package's bin links to). The units use no quoting or specifiers in ExecStart, so
 * splitting on blanks is exact; anything else is refused rather than guessed.
 */
export function execStart(unitText: string, root: string): string[] {
  const lines = directive(unitText, 'ExecStart');
  if (lines.length !== 1) throw new Error(`expected one ExecStart=, found ${lines.length}`);
  const line = lines[0] ?? '';
  if (/["'%\\$]/.test(line)) throw new Error(`ExecStart uses quoting or specifiers: ${line}`);
  const [bin, ...args] = line.split(/\s+/);
  if (bin !== installedRsockd) throw new Error(`ExecStart runs ${bin}, not ${installedRsockd}`);
  return [process.execPath, join(root, 'dist/cli/rsockd.js'), ...args];
}
