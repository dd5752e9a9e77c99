/**
 * Frozen configuration files (spec f.1–f.3): a parsed config in a platform-independent binary
 * envelope that detects truncation, corruption, another kind and another format version.
 *
 * Layout (all integers big-endian):
 *   0  magic      8 bytes, one per kind (FROZEN_MAGIC)
 *   8  version    u32, FROZEN_VERSION
 *  12  length     u32, payload bytes
 *  16  sha256     32 bytes, digest of the payload
 *  48  payload    UTF-8 JSON of the config AST
 */
import { createHash } from 'node:crypto';
import type { AnyConfig } from './ast.ts';
import { frozenError } from './frozen-error.ts';
import { anyConfigSchema } from './frozen-schema.ts';

/** Magic strings identifying what a frozen file holds (8 ASCII bytes each). */
export const FROZEN_MAGIC = {
  'sockd.conf': 'SLSDFC\r\n', // server rules (sockd.fc); CR LF catches text-mode copies
  'socks.conf': 'SLSSFC\r\n', // client rules (socks.fc)
  'sockd.route': 'SLSDFR\r\n', // routes (sockd.fr)
} as const satisfies Record<AnyConfig['kind'], string>;

/** Bumped whenever the payload's meaning changes; older files are then refused, not misread. */
export const FROZEN_VERSION = 1;

const HEADER_BYTES = 48;

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** The frozen bytes of a parsed config. */
export function freeze(config: AnyConfig): Buffer {
  const payload = Buffer.from(JSON.stringify(config), 'utf8');
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(FROZEN_MAGIC[config.kind], 0, 'latin1');
  header.writeUInt32BE(FROZEN_VERSION, 8);
  header.writeUInt32BE(payload.length, 12);
  sha256(payload).copy(header, 16);
  return Buffer.concat([header, payload]);
}

function kindOfMagic(magic: string): AnyConfig['kind'] | undefined {
  for (const [kind, value] of Object.entries(FROZEN_MAGIC))
    if (value === magic) return kind as AnyConfig['kind'];
  return undefined;
}

export interface ThawOptions {
  /** Path used in errors. */
  readonly file: string;
  /** The kind the caller needs; another kind is refused with E_FROZEN_KIND. */
  readonly kind?: AnyConfig['kind'];
}

/** The config frozen in `bytes`; throws ConfigError E_FROZEN_CORRUPT or E_FROZEN_KIND. */
export function thaw(bytes: Uint8Array, options: ThawOptions): AnyConfig {
  const { file } = options;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER_BYTES) {
    throw frozenError(file, 'E_FROZEN_CORRUPT', `truncated header (${buf.length} bytes)`);
  }
  const kind = kindOfMagic(buf.toString('latin1', 0, 8));
  if (kind === undefined) throw frozenError(file, 'E_FROZEN_CORRUPT', 'not a frozen configuration file');
  if (options.kind !== undefined && kind !== options.kind) {
    throw frozenError(file, 'E_FROZEN_KIND', `holds ${kind} rules, not ${options.kind}`);
  }
  const version = buf.readUInt32BE(8);
  if (version !== FROZEN_VERSION) {
    throw frozenError(file, 'E_FROZEN_CORRUPT', `format version ${version}, expected ${FROZEN_VERSION}`);
  }
  const length = buf.readUInt32BE(12);
  const payload = buf.subarray(HEADER_BYTES);
  if (payload.length !== length) {
    throw frozenError(file, 'E_FROZEN_CORRUPT', `payload is ${payload.length} bytes, header says ${length}`);
  }
  if (!sha256(payload).equals(buf.subarray(16, HEADER_BYTES))) {
    throw frozenError(file, 'E_FROZEN_CORRUPT', 'checksum mismatch');
  }
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw frozenError(file, 'E_FROZEN_CORRUPT', 'payload is not JSON', err);
  }
  const parsed = anyConfigSchema.safeParse(json);
  if (!parsed.success || parsed.data.kind !== kind) {
    throw frozenError(file, 'E_FROZEN_CORRUPT', 'payload does not describe a configuration', parsed.error);
  }
  // The schema mirrors ast.ts exactly (strict objects), so the checked value is an AnyConfig.
  return parsed.data as AnyConfig;
}
