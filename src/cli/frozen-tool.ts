/**
 * The make_* / dump_* utilities of spec f.2 and f.3, shared by the six thin entry points:
 * freeze a text config (every error printed, nothing written on error, atomic write) and list a
 * frozen config in the f.4 format.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AnyConfig } from '../config/ast.ts';
import { ConfigError, ConfigFileError } from '../config/config-error.ts';
import { dumpConfig } from '../config/dump.ts';
import { freeze, thaw } from '../config/frozen.ts';
import { loadServices } from '../config/services.ts';
import { parseSockdConf } from '../config/sockd-conf.ts';
import { parseSockdRoute } from '../config/sockd-route.ts';
import { parseSocksConf } from '../config/socks-conf.ts';

type Kind = AnyConfig['kind'];

/** Tool names and default files of f.2. */
export const FrozenTools = {
  'sockd.conf': {
    make: 'make_sockdfc',
    dump: 'dump_sockdfc',
    text: '/etc/sockd.conf',
    frozen: '/etc/sockd.fc',
  },
  'socks.conf': {
    make: 'make_socksfc',
    dump: 'dump_socksfc',
    text: '/etc/socks.conf',
    frozen: '/etc/socks.fc',
  },
  'sockd.route': {
    make: 'make_sockdfr',
    dump: 'dump_sockdfr',
    text: '/etc/sockd.route',
    frozen: '/etc/sockd.fr',
  },
} as const satisfies Record<Kind, { make: string; dump: string; text: string; frozen: string }>;

/** Default files of one kind (the f.2 table; tests pass their own). */
export interface ToolDefaults {
  readonly text: string;
  readonly frozen: string;
}

export interface ToolIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

function parse(kind: Kind, text: string, file: string): AnyConfig {
  switch (kind) {
    case 'sockd.conf':
      return parseSockdConf(text, { file, services: loadServices() });
    case 'socks.conf':
      return parseSocksConf(text, { file, services: loadServices() });
    case 'sockd.route':
      return parseSockdRoute(text, { file });
  }
}

/** Writes through a temporary file in the same directory and renames it into place. */
function writeAtomically(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, bytes, { mode: 0o644, flag: 'wx' });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** More arguments than the tool takes: its usage line on stderr, and true (the tool exits 1). */
function tooManyArguments(args: readonly string[], most: number, usage: string, io: ToolIo): boolean {
  if (args.length <= most) return false;
  io.stderr(`Usage: ${usage}\n`);
  return true;
}

/** The input file's bytes, or undefined after `Cannot open FILE` on stderr (the tool exits 1). */
function readInput(path: string, io: ToolIo): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    io.stderr(`Cannot open ${path}\n`);
    return undefined;
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `make_* [infile [outfile]]`; returns the exit status (0 written, 1 anything else). */
export function runMake(
  kind: Kind,
  args: readonly string[],
  io: ToolIo,
  defaults: ToolDefaults = FrozenTools[kind],
): number {
  if (tooManyArguments(args, 2, `${FrozenTools[kind].make} [infile [outfile]]`, io)) return 1;
  const infile = args[0] ?? defaults.text;
  const outfile = args[1] ?? defaults.frozen;
  const bytes = readInput(infile, io);
  if (bytes === undefined) return 1;
  let config: AnyConfig;
  try {
    config = parse(kind, bytes.toString('utf8'), infile);
  } catch (err) {
    if (!(err instanceof ConfigFileError)) throw err;
    for (const error of err.errors) io.stderr(`${error.classic}\n`);
    return 1;
  }
  try {
    writeAtomically(outfile, freeze(config));
  } catch (err) {
    io.stderr(`Cannot write ${outfile}: ${reason(err)}\n`);
    return 1;
  }
  return 0;
}

/** `dump_* [infile]`; prints the f.4 listing; returns 0, or 1 when the file is unusable. */
export function runDump(
  kind: Kind,
  args: readonly string[],
  io: ToolIo,
  defaults: ToolDefaults = FrozenTools[kind],
): number {
  if (tooManyArguments(args, 1, `${FrozenTools[kind].dump} [infile]`, io)) return 1;
  const infile = args[0] ?? defaults.frozen;
  const bytes = readInput(infile, io);
  if (bytes === undefined) return 1;
  let config: AnyConfig;
  try {
    config = thaw(bytes, { file: infile, kind });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr(`${err.classic}\n`);
    return 1;
  }
  io.stdout(dumpConfig(config));
  return 0;
}

export const processIo: ToolIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};
